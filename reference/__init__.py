"""Reference data the platform ships (no network at run time): French administrative geography
(`geo`: communes, départements, regions, EPCI) and département boundaries (`shapes`)."""
