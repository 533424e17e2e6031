//! Container image provisioning: local, pulled, or a labelled stand-in built from Debian packages and cached by recipe hash.
