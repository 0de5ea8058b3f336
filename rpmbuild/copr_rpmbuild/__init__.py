"""copr-rpmbuild: the Copr builder agent."""
