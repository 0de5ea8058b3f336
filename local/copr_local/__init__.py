"""copr-local: the whole Copr stack on one machine."""
