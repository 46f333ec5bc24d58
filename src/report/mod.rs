//! What leaves the engine: CSV/JSON writers, the plotted-series history and its decimation
//! (shared by the window and the benchmark), and headless figures (plotters).

pub mod figure;
pub mod journal;
pub mod output;
pub mod series;
