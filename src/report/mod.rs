//! What leaves the engine: CSV/JSON writers, the plotted-series history and its decimation
//! (shared by the window and the benchmark), and headless figures (plotters).

pub mod decimate;
pub mod figure;
pub mod history_store;
pub mod journal;
pub mod live_figure;
pub mod live_view;
pub mod output;
pub mod params_npz;
pub mod replay;
pub mod animation;
pub mod series;
