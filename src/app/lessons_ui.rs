//! The lesson runner: the Lessons menu, a lesson bar above the plots (the step's text, its
//! question with the answer behind a click, Back / Next, Presenter) and the callout ring on the
//! plot the step names. Entering a step loads its preset (or continues the run), runs it to its
//! step or until its event (peak, η·λ̂ < 2, divergence: found in the history from the row where
//! the previous step stopped), pauses, and points the timeline at the row where the event came.
//! Back re-runs the lesson from the last step that loads a preset. Presenter hides the side panel
//! and enlarges the lesson text.

use super::*;
use crate::engine::lessons::{self, Event as LessonEvent, Lesson, PlotName, RunTarget};
use crate::engine::library;

/// Labels tests look these widgets up by.
pub const LESSONS_MENU: &str = "Lessons";
pub const LESSON_NEXT: &str = "Next ▶";
pub const LESSON_BACK: &str = "◀ Back";
pub const LESSON_PRESENTER: &str = "Presenter";
pub const LESSON_CLOSE: &str = "Close lesson";
pub const LESSON_ANSWER: &str = "Show the answer";

/// Where a lesson is.
pub struct LessonRun {
    pub lesson: Lesson,
    /// The step on screen.
    pub step: usize,
    /// Steps still to run before `step` is shown (Back re-runs from a preset step).
    queue: Vec<usize>,
    /// Running the front step: the run id it waits to leave (a new preset) and the row it scans from.
    waiting_for_new_run: Option<u64>,
    scan_from: usize,
    resumed: bool,
    /// The run the front step drives (the one its preset started, or the current one for a
    /// "continue" step); another run (a preset loaded by hand, Reset) ends the driving.
    driving_run: Option<u64>,
    /// The row where the step stopped, once it has.
    pub arrived: Option<usize>,
    /// Why the step stopped elsewhere (its event did not come before the run ended).
    pub note: Option<String>,
    pub answer_shown: bool,
}

impl App {
    pub fn lesson(&self) -> Option<&LessonRun> {
        self.lesson.as_ref()
    }

    pub fn presenter(&self) -> bool {
        self.presenter
    }

    /// Starts a shipped lesson at its first step.
    pub fn start_lesson(&mut self, name: &str) {
        self.start_lesson_at(name, 0);
    }

    /// Starts a shipped lesson at step `k` (from 0; the saved state restores a lesson this way):
    /// the run goes through the steps from the last one that loads a preset, as Back does.
    pub fn start_lesson_at(&mut self, name: &str, k: usize) {
        let Some(lesson) = lessons::shipped().into_iter().find(|l| l.name == name) else {
            self.last_error = Some(format!("no lesson named {name}"));
            return;
        };
        self.lesson = Some(LessonRun { lesson, step: 0, queue: Vec::new(), waiting_for_new_run: None, scan_from: 0, resumed: false, driving_run: None, arrived: None, note: None, answer_shown: false });
        self.go_to_lesson_step(k);
    }

    /// Shows step `k`: runs the lesson from the last preset step at or before it through `k`.
    pub fn go_to_lesson_step(&mut self, k: usize) {
        let Some(run) = self.lesson.as_mut() else { return };
        let k = k.min(run.lesson.steps.len() - 1);
        let continues_from_here = run.arrived.is_some() && k == run.step + 1;
        let first = if continues_from_here { k } else { (0..=k).rev().find(|&j| !run.lesson.steps[j].continues()).unwrap_or(0) };
        run.queue = (first..=k).collect();
        run.step = k;
        run.answer_shown = false;
        self.enter_front_step();
    }

    fn enter_front_step(&mut self) {
        let run_id = self.snapshot.as_ref().map(|s| s.run_id);
        let scan_from = self.replay_row().unwrap_or(self.history.len().saturating_sub(1));
        let Some(run) = self.lesson.as_mut() else { return };
        let Some(&front) = run.queue.first() else { return };
        let step = run.lesson.steps[front].clone();
        let previous = run.arrived.take();
        run.note = None;
        run.resumed = false;
        run.scan_from = previous.unwrap_or(scan_from);
        run.driving_run = None;
        if step.continues() {
            run.waiting_for_new_run = None;
            run.driving_run = run_id;
        } else {
            run.waiting_for_new_run = Some(run_id.unwrap_or(u64::MAX));
            match library::shipped(&step.preset, &step.overrides()) {
                Some(Ok(preset)) => self.start_preset(preset),
                Some(Err(e)) => self.last_error = Some(e.to_string()),
                None => self.last_error = Some(format!("lesson: no preset {}", step.preset)),
            }
        }
        self.set_replay_row(None);
    }

    /// The first row at or after `from` where `target` is met (None: not yet).
    fn target_row(&self, target: &RunTarget, from: usize) -> Option<usize> {
        let h = &self.history;
        match target {
            RunTarget::ToStep { to_step } => (h.last_step()? >= *to_step).then(|| self.row_of_step(*to_step as f64)),
            RunTarget::Until { until: LessonEvent::Divergence } => matches!(self.status(), Some(RunStatus::DivergedAt(_))).then(|| h.len() - 1),
            RunTarget::Until { until: LessonEvent::Peak } => {
                let start = *h.loss.get(from)?;
                let mut risen = false;
                for i in from + 1..h.len() {
                    risen |= h.loss[i] > 2.0 * start;
                    if risen && h.loss[i] < h.loss[i - 1] {
                        return Some(i - 1);
                    }
                }
                None
            }
            RunTarget::Until { until: LessonEvent::Edge } => {
                // The crossing from η·λ̂ ≥ 2 to below 2: the last one at or before `from` if η·λ̂ is
                // already below 2 there (the kernel can cross before the loss peaks), else the next.
                let e = &h.eta_lambda;
                let crossing = |i: usize| i > 0 && e[i - 1] >= 2.0 && e[i] < 2.0;
                if *e.get(from)? < 2.0 {
                    return (1..=from).rev().find(|&i| crossing(i));
                }
                (from + 1..h.len()).find(|&i| crossing(i))
            }
        }
    }

    /// Drives the front step of the lesson (called every frame).
    pub(super) fn advance_lesson(&mut self) {
        let Some(run) = self.lesson.as_ref() else { return };
        if run.arrived.is_some() && run.queue.is_empty() {
            return;
        }
        let Some(&front) = run.queue.first() else { return };
        let Some(snapshot) = self.snapshot.as_ref() else { return };
        if let Some(old) = run.waiting_for_new_run {
            if snapshot.run_id == old {
                return;
            }
        }
        let (run_id, status) = (snapshot.run_id, snapshot.status);
        let step = &run.lesson.steps[front];
        let foreign_new_run = run.waiting_for_new_run.is_some() && !step.continues() && snapshot.preset_name != step.preset;
        if foreign_new_run || (run.waiting_for_new_run.is_none() && run.driving_run.is_some_and(|id| id != run_id)) {
            // Another run than the lesson's: stop driving it (Back / Next take the lesson up again).
            let last = self.history.len().saturating_sub(1);
            if let Some(run) = self.lesson.as_mut() {
                run.queue.clear();
                run.arrived = Some(last);
                run.note = Some("another run was loaded; Back or Next takes the lesson up again".into());
            }
            return;
        }
        let target = run.lesson.steps[front].run.clone();
        let from = if run.waiting_for_new_run.is_some() { 0 } else { run.scan_from };
        let found = self.target_row(&target, from.min(self.history.len().saturating_sub(1)));
        let ended = matches!(status, RunStatus::Finished | RunStatus::DivergedAt(_) | RunStatus::Failed);
        let resumed = run.resumed;
        if found.is_none() && !ended {
            if !resumed {
                self.outbox.push(Command::Resume);
            }
            if let Some(run) = self.lesson.as_mut() {
                run.waiting_for_new_run = None;
                run.driving_run = Some(run_id);
                run.scan_from = from;
                run.resumed = true;
            }
            return;
        }
        if status == RunStatus::Running {
            self.outbox.push(Command::Pause);
        }
        let row = found.unwrap_or(self.history.len().saturating_sub(1));
        let note = found.is_none().then(|| "the run ended before this step's event came".to_string());
        if status == RunStatus::Running {
            // The pause is only requested: samples computed before it may still come; keep the
            // view (and the callout ring) on the row the step stopped at.
            self.hold_row(row);
        } else {
            self.set_replay_row(Some(row));
        }
        if let Some(run) = self.lesson.as_mut() {
            run.queue.remove(0);
            run.arrived = Some(row);
            run.note = note;
            run.waiting_for_new_run = None;
        }
        if self.lesson.as_ref().is_some_and(|r| !r.queue.is_empty()) {
            self.enter_front_step();
        }
    }

    /// Where the step's callout ring is: the named plot and the screen point of the row the step
    /// stopped at (while the view shows that row).
    pub fn lesson_highlight(&self) -> Option<(PlotName, egui::Pos2)> {
        let run = self.lesson.as_ref()?;
        let row = run.arrived.filter(|_| run.queue.is_empty())?;
        let shown = self.replay_row().unwrap_or(self.history.len().checked_sub(1)?);
        if shown != row {
            return None;
        }
        let plot = run.lesson.steps[run.step].highlight.plot;
        let id = match plot {
            PlotName::Loss => PlotId::Loss,
            PlotName::Kernel => PlotId::Lambda,
            PlotName::Weights => PlotId::Weights,
            PlotName::PhasePlane => PlotId::PhasePlane,
        };
        Some((plot, self.plot_layout(id)?.newest?))
    }

    /// The Lessons menu (in the menu bar).
    pub(super) fn lessons_menu_ui(&mut self, ui: &mut egui::Ui) {
        ui.menu_button(LESSONS_MENU, |ui| {
            for lesson in lessons::shipped() {
                if ui.button(&lesson.title).on_hover_text(&lesson.summary).clicked() {
                    self.start_lesson(&lesson.name);
                    ui.close();
                }
            }
        });
    }

    /// The lesson bar (above the plots) and the callout ring.
    pub(super) fn lesson_ui(&mut self, ui: &mut egui::Ui) {
        self.advance_lesson();
        let Some(run) = self.lesson.as_ref() else { return };
        let step = run.lesson.steps[run.step].clone();
        let (k, n, title) = (run.step, run.lesson.steps.len(), run.lesson.title.clone());
        let arrived = run.arrived.is_some() && run.queue.is_empty();
        let note = run.note.clone();
        let answer_shown = run.answer_shown;
        let size = if self.presenter { 24.0 } else { 15.0 };
        let mut go = None;
        let mut close = false;
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Lesson: {title} — step {} of {n}", k + 1)).strong().size(size * 0.9));
            if ui.add_enabled(k > 0, egui::Button::new(LESSON_BACK)).clicked() {
                go = Some(k - 1);
            }
            if ui.add_enabled(k + 1 < n && arrived, egui::Button::new(LESSON_NEXT)).clicked() {
                go = Some(k + 1);
            }
            if ui.selectable_label(self.presenter, LESSON_PRESENTER).on_hover_text("Hide the side panel and enlarge the plots and the lesson text (for a projector).").clicked() {
                self.presenter = !self.presenter;
            }
            if ui.button(LESSON_CLOSE).clicked() {
                close = true;
            }
            if !arrived {
                ui.label(RichText::new(match &step.run {
                    RunTarget::ToStep { to_step } => format!("running to step {to_step}…"),
                    RunTarget::Until { until: LessonEvent::Peak } => "running to the loss peak…".into(),
                    RunTarget::Until { until: LessonEvent::Edge } => "running until η·λ̂ < 2…".into(),
                    RunTarget::Until { until: LessonEvent::Divergence } => "running until it diverges…".into(),
                }).italics());
            }
        });
        ui.label(RichText::new(&step.text).size(size));
        if let Some(note) = note {
            ui.label(RichText::new(note).color(Color32::from_rgb(230, 120, 60)));
        }
        if let Some(question) = &step.question {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("Question: {question}")).size(size).strong());
                if !answer_shown && ui.button(LESSON_ANSWER).clicked()
                    && let Some(run) = self.lesson.as_mut()
                {
                    run.answer_shown = true;
                }
            });
            if answer_shown && let Some(answer) = &step.answer {
                ui.label(RichText::new(format!("Answer: {answer}")).size(size));
            }
        }
        if let Some(k) = go {
            self.go_to_lesson_step(k);
        }
        if close {
            self.lesson = None;
            self.presenter = false;
        }
    }

    /// The callout: a ring and an arrow with the step's label at the highlighted point.
    pub(super) fn lesson_callout(&self, ctx: &egui::Context) {
        let Some((_, point)) = self.lesson_highlight() else { return };
        let Some(label) = self.lesson.as_ref().map(|r| r.lesson.steps[r.step].highlight.label.clone()) else { return };
        let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("lesson_callout")));
        let color = Color32::from_rgb(255, 200, 40);
        painter.circle_stroke(point, 16.0, egui::Stroke::new(3.0, color));
        // The arrow comes from the side with room for the label (the window's centre side).
        let centre = ctx.content_rect().center();
        let right = point.x < centre.x;
        let below = point.y < 140.0;
        let from = point + egui::vec2(if right { 70.0 } else { -70.0 }, if below { 50.0 } else { -50.0 });
        painter.arrow(from, (point - from) * 0.72, egui::Stroke::new(2.5, color));
        let align = match (right, below) {
            (true, false) => egui::Align2::LEFT_BOTTOM,
            (true, true) => egui::Align2::LEFT_TOP,
            (false, false) => egui::Align2::RIGHT_BOTTOM,
            (false, true) => egui::Align2::RIGHT_TOP,
        };
        painter.text(from, align, label, egui::FontId::proportional(if self.presenter { 22.0 } else { 16.0 }), color);
    }
}
