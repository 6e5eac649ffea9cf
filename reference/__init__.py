"""Reference data the platform ships (no network at run time): French administrative geography."""
