"""After deployment: the model registry, the HTTP service, drift monitoring, retraining."""
