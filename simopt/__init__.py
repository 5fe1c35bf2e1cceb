"""simopt: plan and fund language training for Vietnam's civil service."""
