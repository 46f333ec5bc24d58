//! The physics: presets and their validation, data sets, models, losses, kernel eigen-solvers,
//! one run (`sim`) and grids of runs (`sweep`). No UI or terminal code; builds without the GUI.

pub mod assets;
pub mod config;
pub mod csv_data;
pub mod dataset;
pub mod data;
pub mod kernel;
pub mod kernel_block;
pub mod linalg;
pub mod lessons;
pub mod library;
pub mod loss;
pub mod model;
pub mod optim;
pub mod schedule;
pub mod sim;
pub mod sweep;
