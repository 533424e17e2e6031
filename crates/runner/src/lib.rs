//! A gitlab-runner compatible runner with the kubernetes executor, and its helper binary.
