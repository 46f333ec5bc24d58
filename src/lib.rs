//! catapult-lab: the lazy, catapult and divergent phases of large-learning-rate gradient
//! descent, simulated and measured (SPEC.md). This file only declares the modules; dependencies
//! point one way: `cli` and `app` → `report` → `engine`.

pub mod engine;
pub mod report;
pub mod cli;
#[cfg(feature = "gui")]
pub mod app;
