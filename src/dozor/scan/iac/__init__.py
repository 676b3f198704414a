"""Serving manifests: Kubernetes YAML (workloads, Services, Ingresses, KServe, Seldon,
KubeRay), docker-compose files and Dockerfiles, judged for how they run and expose
models. The handler is `dozor.scan.iac.scan.scan_manifest`; rules live in `rules`."""
