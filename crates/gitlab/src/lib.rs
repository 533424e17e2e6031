//! Embedded GitLab: the Runner API (v4), git smart HTTP, pipelines from `.gitlab-ci.yml` with GitLab semantics and lint messages, CI/CD variables.
