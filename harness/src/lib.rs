//! gitlab-k8s-harness: brings up a Kubernetes cluster, a GitLab, an image registry and a
//! gitlab-runner on one machine, runs the tutorial's pipeline and asserts on what it produced.
