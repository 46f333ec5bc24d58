//! catapult-lab: the lazy, catapult and divergent phases of large-learning-rate gradient
//! descent, simulated and measured (SPEC.md). This file only declares the modules.

pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod kernel;
pub mod library;
pub mod loss;
pub mod model;
pub mod output;
pub mod runner;
pub mod plot;
pub mod sim;
pub mod sweep;
