//! Unit tests of the charts: values in, shapes out, read back with a strict XML reader.

mod bar;
mod donut;
mod heatmap;
mod interaction;
mod kit;
mod pareto;
mod ring;
mod rules;
mod stacked;
mod trend;
