//! Embedded kubelet: runs the pods bound to its node as real Docker containers and serves their logs, exec and attach streams.
