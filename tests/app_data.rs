//! The data view and your own data in the window (kittest on the real App and runner): the view
//! draws its four forms (d = 1 line, d = 2 heat map, images, output histogram), a CSV file
//! becomes the run's data, and a bad one shows its error while the run continues.

use catapult_lab::app::{App, labels};
use catapult_lab::engine::sim::DataPicture;
use eframe::egui;
use egui_kittest::kittest::Queryable;

mod common;
use common::*;

fn picture(app: &App) -> Option<DataPicture> {
    app.snapshot().and_then(|s| s.picture.as_deref().cloned())
}

#[test]
fn the_data_view_draws_lines_planes_images_and_histograms() {
    // (preset, the heading the view shows, a check of the picture's shape)
    let moons = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/csv/moons.csv");
    let cases: [(&str, &str, fn(&DataPicture) -> bool); 3] = [
        ("zhu-multi-example", labels::DATA_VIEW_LINE_LABEL, |p| matches!(p, DataPicture::Line { x, curve_f, .. } if x.len() == 128 && curve_f.len() == 200)),
        ("images-digits-catapult", labels::DATA_VIEW_IMAGES_LABEL, |p| matches!(p, DataPicture::Images { side: 8, tiles } if tiles.len() == 12)),
        ("zhu-sgd-batch-10", labels::DATA_VIEW_OUTPUTS_LABEL, |p| matches!(p, DataPicture::Outputs { groups } if groups.len() == 1 && groups[0].1.len() == 1000)),
    ];
    for (name, heading, shape) in cases {
        let mut harness = harness_on(name);
        harness.state_mut().set_data_view_open(true);
        step_until(&mut harness, name, |app| picture(app).is_some());
        harness.step();
        assert!(shape(&picture(harness.state()).unwrap()), "{name}: {:?}", picture(harness.state()).map(|p| std::mem::discriminant(&p)));
        harness.get_by_label(labels::DATA_VIEW_TITLE);
        harness.get_by_label(heading);
    }
    // d = 2: the user's own CSV file (two moons) loaded into the running app.
    let mut harness = harness_on("lazy-uv");
    harness.state_mut().set_data_view_open(true);
    step_until(&mut harness, "first run", |app| app.snapshot().is_some());
    harness.state_mut().load_data_path(&moons);
    step_until(&mut harness, "the CSV run", |app| matches!(picture(app), Some(DataPicture::Plane { .. })));
    harness.step();
    harness.get_by_label(labels::DATA_VIEW_PLANE_LABEL);
    let Some(DataPicture::Plane { points, f, .. }) = picture(harness.state()) else { unreachable!() };
    assert_eq!((points.len(), f.len()), (80, 48 * 48));
    assert!(harness.state().info().is_some_and(|i| i.contains("80 examples, d = 2")), "{:?}", harness.state().info());
    // Closing it with the key D (not while typing).
    harness.key_press(egui::Key::D);
    harness.step();
    assert!(harness.query_by_label(labels::DATA_VIEW_PLANE_LABEL).is_none());
}

#[test]
fn a_bad_csv_shows_its_error_and_the_run_continues() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "x1,x2,y\n1,2,1\n3,oops,-1\n").unwrap();
    let mut harness = harness_on("catapult-uv");
    step_until(&mut harness, "first run", |app| app.step_count() > 0);
    let before = harness.state().preset().clone();
    harness.state_mut().load_data_path(&bad);
    harness.step();
    let error = harness.state().last_error().unwrap_or_default().to_string();
    assert!(error.contains("bad.csv: line 3, column 2 (x2): `oops` is not a number") && error.contains("the current run continues"), "{error}");
    let steps = harness.state().step_count();
    step_until(&mut harness, "the old run keeps going", |app| app.step_count() > steps);
    assert_eq!(harness.state().preset(), &before);
}
