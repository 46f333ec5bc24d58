//! Nothing lost on close: the saved state (pinned runs with their recorded histories, the last
//! sweep's grid and results, the lesson position) as one versioned JSON file in the data dir
//! (`$CATAPULT_LAB_STATE`, else `$XDG_DATA_HOME/catapult-lab/state.json`, else
//! `~/.local/share/catapult-lab/state.json`), written atomically when the window closes and read
//! at launch. A file that cannot be read, is damaged or of another version is ignored with a
//! one-line note and moved aside to `state.json.bad` (so the next save cannot overwrite it).
//! File → Clear saved state empties it (the file moves to `state.json.cleared`; Undo clear brings
//! everything back while the window is open). Closing during a sweep asks first: wait for it,
//! keep the finished runs, or discard them. UI bookkeeping only: pins keep what was recorded,
//! nothing is simulated again.

use super::*;
use super::pins::MAX_PINS;
use super::sweep_view::SweepForm;
use crate::engine::sim::Summary;
use crate::report::history_store::PackedHistory;
use std::path::{Path, PathBuf};

/// The format version this build writes and reads.
pub const STATE_VERSION: u64 = 1;
/// The environment variable that overrides where the state file lives.
pub const STATE_PATH_ENV: &str = "CATAPULT_LAB_STATE";

/// Labels tests look these widgets up by.
pub const CLEAR_STATE_MENU: &str = "Clear saved state";
pub const UNDO_CLEAR_MENU: &str = "Undo clear";
pub const CLOSE_DIALOG_TITLE: &str = "A sweep is still running";
pub const CLOSE_WAIT: &str = "Wait for the sweep";
pub const CLOSE_KEEP: &str = "Keep partial results";
pub const CLOSE_DISCARD: &str = "Discard";
pub const CLOSE_CANCEL: &str = "Cancel";

/// The whole saved state (`state.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    pub version: u64,
    pub pins: Vec<SavedPin>,
    pub sweep: Option<SavedSweep>,
    pub lesson: Option<SavedLesson>,
}

/// A pinned run: what it draws (its recorded history, label, colour, visibility) and where it
/// came from (the preset name and the share code of its effective preset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPin {
    pub label: String,
    pub color: [u8; 3],
    pub visible: bool,
    pub preset_name: String,
    pub code: String,
    pub history: PackedHistory,
}

/// The last sweep: its form, every cell's preset (clicking a point opens it; packed, as they
/// repeat the base preset) and the finished rows as (cell index, summary) in arrival order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedSweep {
    pub form: SweepForm,
    pub base_name: String,
    /// Stopped before every cell was run.
    pub cancelled: bool,
    #[serde(with = "packed_json")]
    pub cells: Vec<Preset>,
    pub rows: Vec<(usize, Summary)>,
    pub failures: Vec<(usize, String)>,
}

/// Where a lesson was: its name and the step on screen (from 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedLesson {
    pub name: String,
    pub step: usize,
}

/// A value as one string, base64url(zlib(compact JSON)): the sweep's cells, a thousand presets
/// that differ in a few numbers, take a few kilobytes instead of megabytes.
mod packed_json {
    use crate::engine::config::share::{base64url_decode, base64url_encode};
    use flate2::Compression;
    use flate2::read::ZlibDecoder;
    use flate2::write::ZlibEncoder;
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::io::{Read, Write};

    /// The most bytes packed data may inflate to.
    const MAX_JSON_BYTES: u64 = 512 * 1024 * 1024;

    pub fn serialize<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_vec(value).map_err(S::Error::custom)?;
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&json).map_err(S::Error::custom)?;
        serializer.serialize_str(&base64url_encode(&encoder.finish().map_err(S::Error::custom)?))
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        let text = String::deserialize(deserializer)?;
        let zipped = base64url_decode(&text).map_err(|e| D::Error::custom(format!("packed data: {e}")))?;
        let mut json = Vec::new();
        ZlibDecoder::new(zipped.as_slice()).take(MAX_JSON_BYTES).read_to_end(&mut json).map_err(|e| D::Error::custom(format!("packed data: damaged ({e})")))?;
        serde_json::from_slice(&json).map_err(|e| D::Error::custom(format!("inside the packed data: {e}")))
    }
}

/// What closing the window is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CloseFlow {
    /// Not closing.
    #[default]
    Open,
    /// A close came during a sweep: the dialog asks what to do.
    Asking,
    /// "Wait for the sweep": the window closes (and saves) when the sweep ends.
    Waiting,
    /// Saved (or the user was told it could not be): the next close request goes through.
    Closing,
}

/// The app's side of the saved state.
#[derive(Default)]
pub struct Store {
    /// Where the state is saved (None: this app saves nothing, e.g. most tests).
    path: Option<PathBuf>,
    /// The one-line note shown under the status strip (damaged file, cleared).
    note: Option<String>,
    /// A saved lesson waits for the first run to arrive before it starts.
    pending_lesson: Option<SavedLesson>,
    /// What Clear removed, for Undo clear (this session only).
    undo: Option<SavedState>,
    close: CloseFlow,
    /// The state was saved while closing (on_exit need not save again).
    saved_on_close: bool,
    /// Saving on close failed once (shown); the next close goes through even if it fails again.
    save_failed: bool,
}

/// The default state file: `$CATAPULT_LAB_STATE`, else `$XDG_DATA_HOME/catapult-lab/state.json`,
/// else `$HOME/.local/share/catapult-lab/state.json` (None without any of them).
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = var(STATE_PATH_ENV) {
        return Some(path);
    }
    if let Some(data) = var("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Some(data.join("catapult-lab").join("state.json"));
    }
    var("HOME").map(|home| home.join(".local/share/catapult-lab/state.json"))
}

/// `path` with `suffix` appended to its file name (`state.json.bad`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().map_or_else(|| "state.json".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!("{name}{suffix}"))
}

/// A path for a one-line note: the home folder as `~`.
pub fn short_path(path: &Path) -> String {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    match home.and_then(|h| path.strip_prefix(h).ok().map(Path::to_path_buf)) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// The file name of `path` (the `.bad` and `.cleared` copies sit beside the state file).
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A serde_json message without its " at line L column C" tail (the note puts the place first).
fn bare_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&tail).unwrap_or(&text).to_string()
}

/// Parses the text of a state file; `Err` is the reason in a few words ("line 3, column 7: …",
/// "version 2 (this catapult-lab reads version 1)").
pub fn parse_state(text: &str) -> Result<SavedState, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("line {}, column {}: {}", e.line(), e.column(), bare_message(&e)))?;
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(STATE_VERSION) => {}
        Some(other) => return Err(format!("version {other}; this catapult-lab reads version {STATE_VERSION}")),
        None => return Err("no `version` number: not a catapult-lab state file".into()),
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let state: SavedState = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        format!("line {}, column {}: key `{}`: {}", inner.line(), inner.column(), e.path(), bare_message(inner))
    })?;
    check(&state, text)?;
    Ok(state)
}

/// The line (from 1) of the `nth` occurrence (from 0) of `key` as a JSON key in `text`: where
/// a check that serde could not make points to (exact for the files this program writes).
fn line_of_key(text: &str, key: &str, nth: usize) -> Option<usize> {
    let at = text.match_indices(&format!("\"{key}\":")).nth(nth)?.0;
    Some(text[..at].matches('\n').count() + 1)
}

/// "line L: " for the `nth` `key`, or nothing when it cannot be found.
fn at_line(text: &str, key: &str, nth: usize) -> String {
    line_of_key(text, key, nth).map(|l| format!("line {l}: ")).unwrap_or_default()
}

/// What serde cannot check: counts, cell indices and every pin's history (`text` is the file,
/// for the line of the error).
fn check(state: &SavedState, text: &str) -> Result<(), String> {
    if state.pins.len() > MAX_PINS {
        return Err(format!("{}key `pins`: {} pinned runs, at most {MAX_PINS}", at_line(text, "pins", 0), state.pins.len()));
    }
    for (k, pin) in state.pins.iter().enumerate() {
        pin.history.unpack().map_err(|e| format!("{}key `pins[{k}].history`: {e}", at_line(text, "data", k)))?;
    }
    if let Some(sweep) = &state.sweep {
        let mut seen = vec![false; sweep.cells.len()];
        let indices = sweep.rows.iter().map(|(i, _)| ("rows", *i)).chain(sweep.failures.iter().map(|(i, _)| ("failures", *i)));
        for (k, (key, index)) in indices.enumerate() {
            let row = if key == "rows" { k } else { k - sweep.rows.len() };
            // Every pin's history has a `rows` key before the sweep's.
            let nth = if key == "rows" { state.pins.len() } else { 0 };
            match seen.get_mut(index) {
                None => return Err(format!("{}key `sweep.{key}[{row}]`: cell {index} is not in the grid of {} cells", at_line(text, key, nth), sweep.cells.len())),
                Some(true) => return Err(format!("{}key `sweep.{key}[{row}]`: cell {index} appears twice", at_line(text, key, nth))),
                Some(s) => *s = true,
            }
        }
    }
    Ok(())
}

/// Reads the state file: Ok(None) when there is none; Err(note) when it was ignored. A damaged
/// file is moved to `state.json.bad` (the note says where), so saving cannot overwrite it.
pub fn read_state(path: &Path) -> Result<Option<SavedState>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Saved state {} could not be read ({e}) and was ignored", short_path(path))),
    };
    let reason = match std::str::from_utf8(&bytes) {
        Err(e) => format!("not text: byte {} is not UTF-8", e.valid_up_to() + 1),
        Ok(text) => match parse_state(text) {
            Ok(state) => return Ok(Some(state)),
            Err(reason) => reason,
        },
    };
    let bad = beside(path, ".bad");
    let kept = match std::fs::rename(path, &bad) {
        Ok(()) => format!("kept beside it as {}", file_name(&bad)),
        Err(e) => format!("could not move it to {}: {e}", file_name(&bad)),
    };
    let what = if reason.starts_with("version ") { "is of another version".to_string() } else { "was damaged".to_string() };
    Err(format!("Saved state {} {what} ({reason}) and was ignored; {kept}", short_path(path)))
}

impl App {
    /// Saves to and restores from the state file at `path` (the window passes `default_path()`;
    /// tests a temporary file). A missing file restores nothing; a bad one leaves a note.
    pub fn use_saved_state(&mut self, path: PathBuf) {
        let read = read_state(&path);
        self.saved.path = Some(path);
        match read {
            Ok(None) => {}
            Ok(Some(state)) => {
                let (pins, sweep, lesson) = (state.pins.len(), state.sweep.as_ref().map(|s| s.rows.len()), state.lesson.clone());
                self.apply_state(state);
                let mut parts = Vec::new();
                if pins > 0 {
                    parts.push(format!("{pins} pinned run{}", if pins == 1 { "" } else { "s" }));
                }
                if let Some(rows) = sweep {
                    parts.push(format!("the last sweep ({rows} runs)"));
                }
                if let Some(l) = lesson {
                    parts.push(format!("lesson {} at step {}", l.name, l.step + 1));
                }
                if !parts.is_empty() {
                    self.info = Some(format!("Restored from the last session: {}.", parts.join(", ")));
                }
            }
            Err(note) => self.saved.note = Some(note),
        }
    }

    pub fn saved_state_path(&self) -> Option<&Path> {
        self.saved.path.as_deref()
    }

    /// The one-line note about the saved state (damaged file ignored, cleared), if any.
    pub fn saved_state_note(&self) -> Option<&str> {
        self.saved.note.as_deref()
    }

    /// What would be saved now.
    pub fn capture_state(&self) -> SavedState {
        let pins = self
            .pins
            .iter()
            .map(|p| SavedPin {
                label: p.label.clone(),
                color: [p.color.r(), p.color.g(), p.color.b()],
                visible: p.visible,
                preset_name: p.preset_name.clone(),
                code: p.code.clone(),
                history: PackedHistory::pack(&p.history),
            })
            .collect();
        let lesson = self.lesson.as_ref().map(|r| SavedLesson { name: r.lesson.name.clone(), step: r.step }).or_else(|| self.saved.pending_lesson.clone());
        SavedState { version: STATE_VERSION, pins, sweep: self.sweep.to_saved(), lesson }
    }

    /// Puts a checked state on screen: pins and sweep at once, the lesson once the first run is in.
    fn apply_state(&mut self, state: SavedState) {
        self.pins = state
            .pins
            .into_iter()
            .filter_map(|p| {
                let history = p.history.unpack().ok()?;
                let [r, g, b] = p.color;
                Some(Pin { history, label: p.label, color: Color32::from_rgb(r, g, b), visible: p.visible, preset_name: p.preset_name, code: p.code })
            })
            .collect();
        match state.sweep {
            Some(sweep) => self.sweep.restore(sweep),
            None => self.sweep.clear_results(),
        }
        self.saved.pending_lesson = state.lesson;
    }

    /// Starts the saved lesson once the first run has arrived (called every frame).
    pub(super) fn restore_pending_lesson(&mut self) {
        if self.snapshot.is_none() {
            return;
        }
        let Some(saved) = self.saved.pending_lesson.take() else { return };
        match crate::engine::lessons::shipped().into_iter().find(|l| l.name == saved.name) {
            Some(lesson) if saved.step < lesson.steps.len() => self.start_lesson_at(&saved.name, saved.step),
            Some(_) | None => {
                self.saved.note = Some(format!("The saved lesson position ({} step {}) is not in this version's lessons and was ignored; pins and sweep were restored", saved.name, saved.step + 1));
            }
        }
    }

    /// Writes the state file now (atomically: a temp file and a rename); `Err` says why not.
    pub fn save_state(&mut self) -> Result<PathBuf, String> {
        let path = self.saved.path.clone().ok_or("this window has no saved-state file")?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(&self.capture_state()).map_err(|e| format!("the saved state cannot be written as JSON: {e}"))?;
        crate::report::output::write_atomically(&path, &format!("{json}\n"))?;
        Ok(path)
    }

    /// File → Clear saved state: removes the pins, the sweep results and the lesson position
    /// from the window and from disk (the file moves to `state.json.cleared`); Undo clear puts
    /// them back while the window is open.
    pub fn clear_saved_state(&mut self) {
        if self.sweep_running() {
            return;
        }
        self.saved.undo = Some(self.capture_state());
        self.pins.clear();
        self.sweep.clear_results();
        self.lesson = None;
        self.presenter = false;
        self.saved.pending_lesson = None;
        let moved = self.saved.path.clone().filter(|p| p.exists()).map(|path| {
            let cleared = beside(&path, ".cleared");
            match std::fs::rename(&path, &cleared) {
                Ok(()) => format!("; the old file is kept as {}", file_name(&cleared)),
                Err(e) => format!("; {} could not be moved ({e})", short_path(&path)),
            }
        });
        self.saved.note = Some(format!("Saved state cleared (File → {UNDO_CLEAR_MENU} brings it back): pins, sweep results and lesson position{}", moved.unwrap_or_default()));
    }

    /// File → Undo clear: what the last Clear removed comes back (this session only).
    pub fn undo_clear_saved_state(&mut self) {
        let Some(state) = self.saved.undo.take() else { return };
        if self.sweep_running() {
            self.saved.undo = Some(state);
            return;
        }
        self.apply_state(state);
        self.saved.note = None;
    }

    pub fn can_undo_clear(&self) -> bool {
        self.saved.undo.is_some()
    }

    /// True while the close-during-sweep dialog is up (asking or waiting).
    pub fn close_dialog_open(&self) -> bool {
        matches!(self.saved.close, CloseFlow::Asking | CloseFlow::Waiting)
    }

    pub fn close_flow(&self) -> CloseFlow {
        self.saved.close
    }

    /// Handles a close request of the window (every frame): during a sweep it is cancelled and
    /// the dialog asks; otherwise the state is saved and the window closes (if saving fails, the
    /// close is cancelled once with the error shown; the next close saves again or, failing
    /// again, closes).
    pub(super) fn handle_close_request(&mut self, ctx: &egui::Context) {
        if self.saved.close == CloseFlow::Waiting && !self.sweep_running() {
            self.save_and_close(ctx);
        }
        if !ctx.input(|i| i.viewport().close_requested()) || self.saved.close == CloseFlow::Closing {
            return;
        }
        if self.sweep_running() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            if self.saved.close == CloseFlow::Open {
                self.saved.close = CloseFlow::Asking;
            }
            return;
        }
        if !self.save_on_close() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        }
    }

    /// Saves for closing; false (with the error shown, the window staying open) when it failed
    /// for the first time.
    fn save_on_close(&mut self) -> bool {
        let saved = if self.saved.path.is_none() { Ok(()) } else { self.save_state().map(|_| ()) };
        match saved {
            Err(e) if !self.saved.save_failed => {
                self.saved.save_failed = true;
                self.saved.close = CloseFlow::Open;
                self.last_error = Some(format!("the saved state could not be written ({e}); close the window again to quit without saving"));
                false
            }
            _ => {
                self.saved.close = CloseFlow::Closing;
                self.saved.saved_on_close = true;
                true
            }
        }
    }

    fn save_and_close(&mut self, ctx: &egui::Context) {
        if self.save_on_close() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Called when the window is destroyed: saves if closing did not already.
    pub(super) fn save_on_exit(&mut self) {
        if !self.saved.saved_on_close && self.saved.path.is_some() {
            self.sweep.stop_keeping_finished();
            if let Err(e) = self.save_state() {
                eprintln!("catapult-lab: {e}");
            }
        }
    }

    /// Picks a choice of the close dialog (the buttons call this; so can tests).
    pub fn choose_close(&mut self, ctx: &egui::Context, choice: &str) {
        match choice {
            CLOSE_WAIT => self.saved.close = CloseFlow::Waiting,
            CLOSE_KEEP => {
                self.sweep.stop_keeping_finished();
                self.save_and_close(ctx);
            }
            CLOSE_DISCARD => {
                self.sweep.stop_keeping_finished();
                self.sweep.clear_results();
                self.save_and_close(ctx);
            }
            _ => self.saved.close = CloseFlow::Open,
        }
    }

    /// The close-during-sweep dialog (a modal over the window).
    pub(super) fn close_dialog_ui(&mut self, ctx: &egui::Context) {
        if !self.close_dialog_open() {
            return;
        }
        let (done, total) = (self.sweep_done(), self.sweep_total());
        let waiting = self.saved.close == CloseFlow::Waiting;
        let mut choice = None;
        let modal = egui::Modal::new(egui::Id::unique("close_during_sweep")).show(ctx, |ui| {
            ui.set_max_width(640.0);
            ui.heading(CLOSE_DIALOG_TITLE);
            if self.sweep_running() {
                ui.label(format!("Finished so far: {done} of {total} runs. What should happen to the sweep when the window closes?"));
            } else {
                ui.label(format!("The sweep has just ended ({done} of {total} runs). {CLOSE_WAIT} or {CLOSE_KEEP} saves them all and closes."));
            }
            if waiting {
                ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).text(format!("waiting: {done} / {total} runs")).animate(true));
                ui.label(RichText::new("The window saves and closes by itself when the sweep ends.").small());
            }
            ui.add_space(6.0);
            ui.horizontal_wrapped(|ui| {
                if ui.add_enabled(!waiting, egui::Button::new(CLOSE_WAIT)).on_hover_text("Keep the window open until every run is done, then save the results (with the pins and the lesson position) and close.").clicked() {
                    choice = Some(CLOSE_WAIT);
                }
                if ui.button(CLOSE_KEEP).on_hover_text("Stop the sweep now, save the runs finished so far with the pins and the lesson position, and close. They are there on the next launch.").clicked() {
                    choice = Some(CLOSE_KEEP);
                }
                if ui.button(CLOSE_DISCARD).on_hover_text("Stop the sweep and close without its results; the pins and the lesson position are still saved.").clicked() {
                    choice = Some(CLOSE_DISCARD);
                }
                if ui.button(CLOSE_CANCEL).on_hover_text("Do not close: the sweep goes on.").clicked() {
                    choice = Some(CLOSE_CANCEL);
                }
            });
        });
        if modal.should_close() && choice.is_none() {
            choice = Some(CLOSE_CANCEL);
        }
        if let Some(choice) = choice {
            self.choose_close(ctx, choice);
        }
    }

    /// The File menu's entries: Clear saved state and Undo clear.
    pub(super) fn saved_state_menu_ui(&mut self, ui: &mut egui::Ui) {
        let where_ = self.saved.path.as_ref().map_or_else(|| "this window saves nothing".to_string(), |p| p.display().to_string());
        let clear = ui
            .add_enabled(!self.sweep_running(), egui::Button::new(CLEAR_STATE_MENU))
            .on_hover_text(format!(
                "Forget the pinned runs, the last sweep's results and the lesson position, in the window and in the saved state ({where_}). \
                 Nothing is lost for good: the file is moved to state.json.cleared, and {UNDO_CLEAR_MENU} brings everything back while the window is open."
            ))
            .on_disabled_hover_text("Not while a sweep is running.");
        if clear.clicked() {
            self.clear_saved_state();
            ui.close();
        }
        if self.saved.undo.is_some() && ui.button(UNDO_CLEAR_MENU).on_hover_text("Bring back the pins, sweep results and lesson position the last Clear removed.").clicked() {
            self.undo_clear_saved_state();
            ui.close();
        }
    }

    /// The note line under the status strip (one line; hover for all of it).
    pub(super) fn saved_state_note_ui(&mut self, ui: &mut egui::Ui) {
        let Some(note) = self.saved.note.clone() else { return };
        ui.horizontal(|ui| {
            if ui.small_button("dismiss").on_hover_text("Hide this note.").clicked() {
                self.saved.note = None;
            }
            ui.add(egui::Label::new(RichText::new(&note).color(Color32::from_rgb(235, 150, 30))).truncate()).on_hover_text(&note);
        });
    }
}
