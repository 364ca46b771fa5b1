//! Real-cluster test harness: Restate nodes (`restate`) and the terraform binary (`terraform`);
//! the reference docs generated from the provider's schema (`docgen`).
#![allow(dead_code)]

pub mod docgen;
pub mod restate;
pub mod s3;
pub mod terraform;
