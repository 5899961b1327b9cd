"""CVR and NetCVR under (cascaded) delayed feedback: the stream protocol, its baselines, ECAD and TESLA."""
