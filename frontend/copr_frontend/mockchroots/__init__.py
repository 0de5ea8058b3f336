"""Mock chroots: the distributions and architectures the system can build for."""
