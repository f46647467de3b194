//! Docker Compose → Kubernetes YAML conversion (to be written).
