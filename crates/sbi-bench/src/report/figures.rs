//! Report figures (plotters; PNG and SVG): posterior pair plots of a run's
//! draws against the reference, and C2ST against the simulation budget.
//!
//! Text is drawn with the bundled DejaVu Sans (`assets/`, Bitstream Vera
//! licence), so no system font library is needed.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Once;

use ndarray::{Array2, ArrayView1};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Group, mean_std};
use crate::{BenchError, RunRecord};

type DrawResult = Result<(), Box<dyn Error>>;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled file is a valid TrueType font (checked by a test).
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).ok();
    });
}

/// At most this many dimensions in a pair plot (the first ones).
const PAIR_DIMS: usize = 4;
/// Points per set drawn in a scatter panel.
const SCATTER_POINTS: usize = 2000;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Draws every figure; returns the files written and the figures skipped (with why).
pub(crate) fn draw_all(
    dir: &Path,
    fig_dir: &Path,
    records: &[RunRecord],
    groups: &[Group],
) -> Result<(Vec<PathBuf>, Vec<String>), BenchError> {
    register_font();
    std::fs::create_dir_all(fig_dir).map_err(|e| BenchError::io("creating", fig_dir, e))?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut tasks: Vec<&str> = Vec::new();
    for g in groups {
        if !tasks.contains(&g.task.as_str()) {
            tasks.push(&g.task);
        }
    }
    for task in &tasks {
        let task_groups: Vec<&Group> = groups.iter().filter(|g| g.task == *task).collect();
        let base = fig_dir.join(format!("c2st_budget_{task}"));
        both(
            &base,
            (720, 480),
            &mut files,
            &mut errors,
            |root| budget_curve(root, task, &task_groups),
            |root| budget_curve(root, task, &task_groups),
        );
        let mut labels: Vec<&str> = Vec::new();
        for g in &task_groups {
            if !labels.contains(&g.label.as_str()) {
                labels.push(&g.label);
            }
        }
        for label in labels {
            // The representative run: largest budget, then first observation and seed.
            let Some(run) = records
                .iter()
                .filter(|r| {
                    r.key.task == *task
                        && task_groups
                            .iter()
                            .any(|g| g.label == label && g.runs.iter().any(|x| std::ptr::eq(*x, *r)))
                })
                .max_by_key(|r| (r.key.budget, std::cmp::Reverse((r.key.observation, r.key.seed))))
            else {
                continue;
            };
            let safe = label.replace([' ', '[', ']', '@', '/'], "");
            let base = fig_dir.join(format!("pairs_{task}_{safe}"));
            match pair_data(dir, run) {
                Ok(data) => {
                    let side = 200 * data.dims.max(1) as u32 + 60;
                    both(
                        &base,
                        (side, side),
                        &mut files,
                        &mut errors,
                        |root| pair_plot(root, &data, label),
                        |root| pair_plot(root, &data, label),
                    );
                }
                Err(e) => errors.push(format!("{}: {e}", base.display())),
            }
        }
    }
    Ok((files, errors))
}

/// Draws one figure as `base.png` and `base.svg`.
fn both(
    base: &Path,
    size: (u32, u32),
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<String>,
    png: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> DrawResult,
    svg: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> DrawResult,
) {
    let png_path = base.with_extension("png");
    let result = (|| -> DrawResult {
        let root = BitMapBackend::new(&png_path, size).into_drawing_area();
        png(&root)?;
        root.present()?;
        Ok(())
    })();
    match result {
        Ok(()) => files.push(png_path),
        Err(e) => errors.push(format!("{}: {e}", png_path.display())),
    }
    let svg_path = base.with_extension("svg");
    let result = (|| -> DrawResult {
        let root = SVGBackend::new(&svg_path, size).into_drawing_area();
        svg(&root)?;
        root.present()?;
        Ok(())
    })();
    match result {
        Ok(()) => files.push(svg_path),
        Err(e) => errors.push(format!("{}: {e}", svg_path.display())),
    }
}

fn budget_curve<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    task: &str,
    groups: &[&Group],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let budgets: Vec<f64> = groups.iter().map(|g| g.budget as f64).collect();
    let lo = budgets.iter().cloned().fold(f64::INFINITY, f64::min) / 1.5;
    let hi = budgets.iter().cloned().fold(0.0, f64::max) * 1.5;
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{task}: C2ST against the simulation budget"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale(), 0.45f64..1.0f64)?;
    chart
        .configure_mesh()
        .x_desc("simulations (log scale)")
        .y_desc("C2ST (0.5 is best)")
        .x_labels(12)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    chart.draw_series(LineSeries::new([(lo, 0.5), (hi, 0.5)], BLACK.mix(0.4)))?;
    let mut labels: Vec<&str> = Vec::new();
    for g in groups {
        if !labels.contains(&g.label.as_str()) {
            labels.push(&g.label);
        }
    }
    for (i, label) in labels.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut points: Vec<(f64, f64, f64)> = groups
            .iter()
            .filter(|g| g.label == *label)
            .map(|g| {
                let (m, s) = mean_std(&g.values(|r| r.metrics.c2st));
                (g.budget as f64, m, s.unwrap_or(0.0))
            })
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 4, color.filled())))?;
        chart.draw_series(
            points
                .iter()
                .map(|p| PathElement::new(vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)], color.stroke_width(2))),
        )?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

/// What a pair plot shows.
struct PairData {
    title: String,
    dims: usize,
    reference: Array2<f64>,
    samples: Array2<f64>,
    ranges: Vec<(f64, f64)>,
}

fn pair_data(dir: &Path, run: &RunRecord) -> Result<PairData, String> {
    let samples: Array2<f32> = ndarray_npy::read_npy(dir.join(&run.samples_file))
        .map_err(|e| format!("cannot read {}: {e}", run.samples_file))?;
    let n = run.config.get("num_samples").and_then(|v| v.as_u64()).unwrap_or(samples.nrows() as u64) as usize;
    let cache = crate::ReferenceCache::new(&dir.join("references"));
    let ref_path = cache.path(&run.key.task, run.key.observation, n);
    let reference: Array2<f64> = ndarray_npy::read_npy(&ref_path)
        .map_err(|e| format!("reference {} not in the cache ({e})", ref_path.display()))?;
    if reference.ncols() != samples.ncols() {
        return Err(format!(
            "reference has {} columns, the run's samples {}",
            reference.ncols(),
            samples.ncols()
        ));
    }
    let dims = samples.ncols().min(PAIR_DIMS);
    let thin = |a: &Array2<f64>| -> Array2<f64> {
        let step = a.nrows().div_ceil(SCATTER_POINTS).max(1);
        let rows: Vec<usize> = (0..a.nrows()).step_by(step).collect();
        a.select(ndarray::Axis(0), &rows).slice_axis(ndarray::Axis(1), (0..dims).into()).to_owned()
    };
    let samples = samples.mapv(f64::from);
    let ranges = (0..dims)
        .map(|j| {
            let (a0, a1) = quantile_range(reference.column(j));
            let (b0, b1) = quantile_range(samples.column(j));
            let (lo, hi) = (a0.min(b0), a1.max(b1));
            let pad = ((hi - lo) * 0.05).max(1e-9);
            (lo - pad, hi + pad)
        })
        .collect();
    Ok(PairData {
        title: format!(
            "{}, {} simulations, seed {}, observation {}: C2ST {:.3}",
            run.key.task, run.key.budget, run.key.seed, run.key.observation, run.metrics.c2st
        ),
        dims,
        reference: thin(&reference),
        samples: thin(&samples),
        ranges,
    })
}

/// The 0.5 % and 99.5 % quantiles.
fn quantile_range(v: ArrayView1<f64>) -> (f64, f64) {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return (0.0, 1.0);
    }
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    (at(0.005), at(0.995))
}

fn histogram(v: ArrayView1<f64>, (lo, hi): (f64, f64), bins: usize) -> Vec<(f64, f64)> {
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0.0; bins];
    for &x in v {
        if x >= lo && x < hi {
            counts[(((x - lo) / width) as usize).min(bins - 1)] += 1.0;
        }
    }
    let norm = v.len() as f64 * width;
    let mut out = Vec::with_capacity(2 * bins);
    for (i, c) in counts.iter().enumerate() {
        let (a, b) = (lo + i as f64 * width, lo + (i + 1) as f64 * width);
        out.push((a, c / norm));
        out.push((b, c / norm));
    }
    out
}

fn pair_plot<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &PairData, label: &str) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let area = root.titled(&format!("{label}: {}", data.title), ("sans-serif", 15))?;
    let (legend, area) = area.split_vertically(22);
    legend.draw(&Text::new("grey: reference posterior   blue: estimate", (10, 4), ("sans-serif", 13)))?;
    let d = data.dims;
    let panels = area.split_evenly((d, d));
    let sample_color = COLORS[0];
    let ref_color = RGBColor(110, 110, 110);
    for i in 0..d {
        for j in 0..d {
            let panel = &panels[i * d + j];
            if j > i {
                continue;
            }
            let (x0, x1) = data.ranges[j];
            let x_desc = if i + 1 == d { format!("θ{}", j + 1) } else { String::new() };
            if i == j {
                let h_ref = histogram(data.reference.column(j), (x0, x1), 30);
                let h_s = histogram(data.samples.column(j), (x0, x1), 30);
                let top = h_ref.iter().chain(&h_s).map(|p| p.1).fold(0.0, f64::max).max(1e-12) * 1.1;
                let mut chart = ChartBuilder::on(panel)
                    .margin(4)
                    .x_label_area_size(if i + 1 == d { 30 } else { 0 })
                    .y_label_area_size(0)
                    .build_cartesian_2d(x0..x1, 0.0..top)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_labels(3)
                    .x_desc(x_desc)
                    .label_style(("sans-serif", 11))
                    .draw()?;
                chart.draw_series(LineSeries::new(h_ref, ref_color.stroke_width(2)))?;
                chart.draw_series(LineSeries::new(h_s, sample_color.stroke_width(2)))?;
            } else {
                let (y0, y1) = data.ranges[i];
                let mut chart = ChartBuilder::on(panel)
                    .margin(4)
                    .x_label_area_size(if i + 1 == d { 30 } else { 0 })
                    .y_label_area_size(if j == 0 { 40 } else { 0 })
                    .build_cartesian_2d(x0..x1, y0..y1)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_labels(3)
                    .y_labels(3)
                    .x_desc(x_desc)
                    .y_desc(if j == 0 { format!("θ{}", i + 1) } else { String::new() })
                    .label_style(("sans-serif", 11))
                    .draw()?;
                let pts = |a: &Array2<f64>| -> Vec<(f64, f64)> {
                    a.rows()
                        .into_iter()
                        .map(|r| (r[j], r[i]))
                        .filter(|&(x, y)| x >= x0 && x <= x1 && y >= y0 && y <= y1)
                        .collect()
                };
                chart.draw_series(
                    pts(&data.reference).into_iter().map(|p| Circle::new(p, 1, ref_color.mix(0.35).filled())),
                )?;
                chart.draw_series(
                    pts(&data.samples)
                        .into_iter()
                        .map(|p| Circle::new(p, 1, sample_color.mix(0.35).filled())),
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_font_is_valid() {
        assert!(plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    }

    #[test]
    fn histogram_integrates_to_the_fraction_inside() {
        let v = ndarray::Array1::from_iter((0..1000).map(|i| i as f64 / 1000.0));
        let h = histogram(v.view(), (0.0, 0.5), 10);
        // Step function: pairs of points per bin at the bin's density.
        let area: f64 = h.chunks(2).map(|p| (p[1].0 - p[0].0) * p[0].1).sum();
        assert!((area - 0.5).abs() < 1e-12, "{area}");
        assert_eq!(quantile_range(v.view()), (v[5], v[994]));
    }
}
