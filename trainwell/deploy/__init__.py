"""After deployment: the registry of versions, the service, monitoring, retraining."""
