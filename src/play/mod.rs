//! The kube-play executor: plan, apply (with rollback), supervise, down.

pub mod plan;
