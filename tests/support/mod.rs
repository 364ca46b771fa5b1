//! Real-cluster test harness: Restate nodes (`restate`) and the terraform binary (`terraform`).
#![allow(dead_code)]

pub mod restate;
pub mod s3;
pub mod terraform;
