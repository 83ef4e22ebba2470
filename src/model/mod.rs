//! The learned cross-check: a linear classifier over hashed character n-grams, trained from
//! labelled history (`hotline-router train`), shipped with the rules (`rules/classifier.model`)
//! and consulted after the rules have decided (see `engine/consult.rs`).
//!
//! Why this shape. The rules are the decision's legal ground; the model never replaces them. It
//! is worth most as a second opinion that does not share the rules' blind spots: keyword rules
//! miss phrasings nobody wrote down, while character n-grams (1 to 3 characters of the
//! normalized text) see every phrasing, need no segmentation and cost one hash each. A multinomial logistic regression gives probabilities directly; a
//! temperature fitted on out-of-fold predictions makes them calibrated (a 0.8 is right about
//! 80% of the time). Weights are stored as one signed byte each with a scale per label, which
//! keeps the model file near 1 MB for 2^16 buckets and 7 labels, and the file is text (a JSON
//! header and hexadecimal weights) so that the decision store can archive it with the rule
//! files that decided.
//!
//! - `features.rs`: text → hashed n-gram features (with their places, for explanations);
//! - `train.rs`: deterministic training, cross-validation and calibration;
//! - this file: the model, its file format and prediction.

pub mod features;
pub mod train;

use serde::{Deserialize, Serialize};

pub use features::Features;

/// The first line of a model file. The number is the features' version: a model's weights mean
/// something only for the hashes it was trained with (version 1 hashed each n-gram's bytes with
/// FNV-1a; version 2 mixes its code points, `features.rs`; version 3 leaves out numbers of five
/// digits or more; version 4 scales by the length of the grouped vector, and by at least
/// [`MIN_NORM`], see [`weigh`]).
const MAGIC: &str = "hotline-router classifier 4";
/// The first line of a model file trained with another version of the features.
const OLDER: &str = "hotline-router classifier ";

/// What a model file records about how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// SHA-256 of the training rows as read (id, text and label of each, in order).
    pub data_sha256: String,
    pub rows: usize,
    /// The command that trained it.
    pub command: String,
    /// The model's own cross-validated figures (see [`train::CrossValidated`]).
    pub cross_validated: train::CrossValidated,
}

/// A trained classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub(crate) labels: Vec<String>,
    /// log2 of the number of hash buckets.
    pub(crate) bits: u8,
    /// Per bucket, one weight per label (bucket-major), as `q * scale[label]`.
    pub(crate) weights: Vec<i8>,
    pub(crate) scales: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    /// Per bucket, its weight × 16: the inverse document frequency, scaled by how much the
    /// bucket's training rows fall under one label (see `train::idf` and [`Model::weigh`]).
    pub(crate) idf: Vec<u8>,
    /// Logits are divided by this before the softmax (calibration).
    pub(crate) temperature: f32,
    pub(crate) provenance: Option<Provenance>,
}

/// The header line of a model file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Header {
    labels: Vec<String>,
    bits: u8,
    scales: Vec<f32>,
    bias: Vec<f32>,
    temperature: f32,
    #[serde(default)]
    provenance: Option<Provenance>,
}

/// Labels summed at once in one vector register (see [`Model::logits`]).
const LANES: usize = 8;

/// The least length a text's feature vector is scaled by, in units of IDF (see [`weigh`]).
///
/// Features are scaled to unit length so that a long message and a short one weigh alike; but a
/// text of two or three characters, scaled up to unit length, then weighs as much as a whole
/// message of evidence: the emergency check flagged the word "手机" alone at 0.98. Below this
/// length a text's features are scaled by this instead, so the little a short text says moves
/// the probabilities little from the labels' priors. By the bundled models' weights it is the
/// length of a text of about ten characters for the emergency check and about twenty for the
/// classifier, whose n-grams shared by several labels weigh less (`train::idf`); the
/// corpus's median request is near 115. Chosen from 0, 16 and 24, which gave the same
/// cross-validated figures within three corpus requests and the same held-out emergency figures;
/// with the labels' concentration in the weights, 0, 12 and 24 gave the rules with the
/// classifier the same figures within four requests (docs/accuracy.md).
pub(crate) const MIN_NORM: f32 = 24.0;

/// Largest number of hash bits accepted from a file (2^20 buckets).
const MAX_BITS: u8 = 20;
/// Most labels accepted from a file.
const MAX_LABELS: usize = 512;

/// Per label, the sum of weight × value over the n-grams added: the inner loop of
/// [`Model::logits`] and [`Model::probabilities_of`].
struct Sums<'m> {
    model: &'m Model,
    k: usize,
    mask: usize,
    /// Up to `LANES` labels: a fixed-width accumulator the compiler keeps in one vector
    /// register, so eight labels cost what one does (rows are read at the model's stride).
    narrow: [f32; LANES],
    /// More labels: one sum each.
    wide: Vec<f32>,
}

impl<'m> Sums<'m> {
    fn new(model: &'m Model) -> Self {
        let k = model.labels.len();
        Sums {
            model,
            k,
            mask: model.buckets() - 1,
            narrow: [0.0; LANES],
            wide: if k > LANES { vec![0.0; k] } else { Vec::new() },
        }
    }

    #[inline]
    fn add(&mut self, bucket: u32, value: f32) {
        let at = (bucket as usize & self.mask) * self.k;
        if self.k <= LANES {
            // A whole register's width is read at once (a fixed-size load, where a copy of `k`
            // bytes is a call to memcpy per n-gram); lanes past `k` hold the next bucket's
            // weights and sum into accumulators that `finish` leaves out. Only the last buckets,
            // with fewer than `LANES` bytes after them, are copied at their own width.
            let weights = &self.model.weights;
            let row: [i8; LANES] =
                if let Some(Ok(row)) = weights.get(at..at + LANES).map(<[i8; LANES]>::try_from) {
                    row
                } else if let Some(w) = weights.get(at..at + self.k) {
                    let mut row = [0; LANES];
                    row[..self.k].copy_from_slice(w);
                    row
                } else {
                    return;
                };
            for (sum, &q) in self.narrow.iter_mut().zip(&row) {
                *sum += f32::from(q) * value;
            }
        } else if let Some(w) = self.model.weights.get(at..at + self.k) {
            for (l, &q) in self.wide.iter_mut().zip(w) {
                *l += f32::from(q) * value;
            }
        }
    }

    fn finish(self) -> Vec<f32> {
        if self.k <= LANES {
            self.narrow[..self.k].to_vec()
        } else {
            self.wide
        }
    }
}

/// One model's part of a pass over a text's n-grams (see [`Model::probabilities_of_both`]).
struct Pass<'m> {
    model: &'m Model,
    sums: Sums<'m>,
    /// The sum of squared IDF over the n-gram occurrences; [`repeats`](Self::repeats) turns it
    /// into the grouped vector's (see [`weigh`]).
    squares: f32,
    repeats: Repeats,
}

impl<'m> Pass<'m> {
    fn new(model: &'m Model) -> Self {
        Pass {
            model,
            sums: Sums::new(model),
            squares: 0.0,
            repeats: Repeats::with_buckets(model.buckets()),
        }
    }

    #[inline]
    fn add(&mut self, hash: u32) {
        // `Sums::add` takes the bucket from the hash with the same mask.
        let bucket = hash as usize & self.sums.mask;
        self.repeats.add_all(&[hash], self.sums.mask);
        let v = f32::from(self.model.idf.get(bucket).copied().unwrap_or(16));
        self.squares += v * v;
        self.sums.add(hash, v);
    }

    fn finish(mut self) -> Vec<f64> {
        let idf = &self.model.idf;
        let extra = self.repeats.extra(|b| {
            let v = i64::from(idf.get(b).copied().unwrap_or(16));
            [v * v, 0]
        });
        self.model
            .calibrated(&self.sums.finish(), self.squares + extra[0] as f32)
    }
}

/// The n-gram buckets a text repeats, found as its n-grams come (a tag byte per bucket), so that
/// the squared length of its grouped vector can be had from the sum over occurrences.
///
/// A bucket that occurs `c` times contributes `(c × idf)²` to the grouped vector's squared
/// length, and `c × idf²` to the sum over occurrences: the difference, `(c² − c) × idf²`, is
/// added for the buckets that repeat. Ordinary text repeats few n-grams, so per n-gram this is a
/// byte compared and written; only the repeats are sorted and counted. A tag is the text's
/// number, so the table needs no clearing between texts (once every 255): a bit set of 8 KB
/// cleared after each text cost 0.15–0.2 µs more at 80 characters (BENCHMARKS.md §7).
#[derive(Debug, Default)]
pub(crate) struct Repeats {
    /// Per bucket, the text (a number that turns over every 255 texts) that last met it.
    tags: Vec<u8>,
    text: u8,
    /// Buckets met again: one entry per repeated occurrence.
    again: Vec<u32>,
}

impl Repeats {
    /// A table ready for its first text (text 1: no tag holds it yet).
    fn with_buckets(buckets: usize) -> Repeats {
        Repeats {
            tags: vec![0; buckets],
            text: 1,
            again: Vec::new(),
        }
    }

    /// Makes ready for the next text's buckets: `buckets` is the models' number of buckets.
    fn begin(&mut self, buckets: usize) {
        if self.tags.len() != buckets {
            *self = Repeats::with_buckets(buckets);
            return;
        }
        self.text = self.text.wrapping_add(1);
        if self.text == 0 {
            // Once every 255 texts: no tag may be mistaken for the next text's.
            self.tags.fill(0);
            self.text = 1;
        }
        self.again.clear();
    }

    /// Adds the buckets of the text's n-grams (hashes under `mask`), noting each one met again.
    fn add_all(&mut self, hashes: &[u32], mask: usize) {
        // Locals, so that the table's length stays in a register while `again` grows.
        let (tags, again, text) = (&mut self.tags[..], &mut self.again, self.text);
        for &h in hashes {
            let bucket = h as usize & mask;
            let Some(tag) = tags.get_mut(bucket) else {
                continue;
            };
            if *tag == text {
                again.push(u32::try_from(bucket).unwrap_or(u32::MAX));
            }
            *tag = text;
        }
    }

    /// The squared length of the grouped vector less the sum over occurrences, per model:
    /// `(c² − c) × idf²` for each bucket seen `c > 1` times, with `squared(bucket)` giving each
    /// model's IDF squared.
    fn extra(&mut self, squared: impl Fn(usize) -> [i64; 2]) -> [i64; 2] {
        let mut extra = [0i64; 2];
        if self.again.is_empty() {
            return extra;
        }
        self.again.sort_unstable();
        for run in self.again.chunk_by(|a, b| a == b) {
            // `run` holds the occurrences after the first: c = run.len() + 1.
            let c = run.len() as i64 + 1;
            let sq = squared(run[0] as usize);
            for (e, s) in extra.iter_mut().zip(sq) {
                *e += (c * c - c) * s;
            }
        }
        extra
    }
}

/// A text's n-gram hashes and its repeats: the request path's buffers for
/// [`Joint::probabilities`], reused from request to request.
#[derive(Debug, Default)]
pub(crate) struct Grams {
    hashes: Vec<u32>,
    repeats: Repeats,
}

/// Lanes of a [`Joint`] row: the products of both models, then the squared IDF of each.
const ROW: usize = 16;
/// N-grams summed in `i32` lanes before they are moved into `i64` totals: each adds less than
/// 2^15 to a lane, so 2^16 of them stay inside `i32`.
const FLUSH_EVERY: usize = 1 << 16;

/// The tables of the request path's models (the classifier and the emergency check), fused
/// bucket by bucket: one 32-byte row per bucket holds, for both models, each label's weight
/// already multiplied by the bucket's IDF, and each model's IDF squared. An n-gram then costs
/// one memory access (instead of a weight row and an IDF byte per model, in four tables: those
/// misses were most of the models' time) and sixteen additions, with no multiplication.
///
/// Every lane is an `i16`: |weight| ≤ 128 and IDF ≤ 255 give products within ±32,640, and a
/// squared IDF fits when the IDF is below 182 (ln(N / df) × 16 reaches that only past about
/// 86,000 training rows; [`Joint::new`] declines larger ones). The sums are integers, exact in
/// any order. The floating-point sums of [`Model::probabilities_of_both`] are exact as well while
/// they stay below 2^24, so both give the same probabilities for any text of ordinary length; a
/// very long one may differ in the last bits.
#[derive(Debug, Clone)]
pub(crate) struct Joint {
    mask: usize,
    /// Labels of the first and the second model (0 when absent).
    ka: usize,
    kb: usize,
    /// Per bucket: lanes `0..ka` the first model's weight × IDF, `ka..ka + kb` the second's,
    /// lane 14 the first's IDF squared and lane 15 the second's.
    rows: Vec<[i16; ROW]>,
}

/// The largest IDF value whose square a row's `i16` lane holds.
const MAX_JOINT_IDF: u8 = 181;

impl Joint {
    /// Fuses the tables of one or two models; `None` when there is no model, when the two have
    /// different bucket counts, when their labels do not fit a row (more than 14 together), or
    /// when an IDF value is too large for its square to fit a lane, in which case
    /// [`Model::probabilities_of_both`] serves.
    pub(crate) fn new(a: Option<&Model>, b: Option<&Model>) -> Option<Joint> {
        let bits = match (a, b) {
            (Some(a), Some(b)) if a.bits != b.bits => return None,
            (Some(m), _) | (None, Some(m)) => m.bits,
            (None, None) => return None,
        };
        let (ka, kb) = (
            a.map_or(0, |m| m.labels.len()),
            b.map_or(0, |m| m.labels.len()),
        );
        if ka + kb > ROW - 2 {
            return None;
        }
        if [a, b]
            .iter()
            .flatten()
            .any(|m| m.idf.iter().any(|&v| v > MAX_JOINT_IDF))
        {
            return None;
        }
        let buckets = 1usize << bits;
        let mut rows = vec![[0i16; ROW]; buckets];
        for (bucket, row) in rows.iter_mut().enumerate() {
            for (m, at, square_lane) in [(a, 0, ROW - 2), (b, ka, ROW - 1)] {
                let Some(m) = m else { continue };
                let k = m.labels.len();
                let idf = i16::from(m.idf.get(bucket).copied().unwrap_or(16));
                let weights = m.weights.get(bucket * k..(bucket + 1) * k)?;
                for (lane, &w) in row[at..at + k].iter_mut().zip(weights) {
                    *lane = i16::from(w) * idf;
                }
                row[square_lane] = idf * idf;
            }
        }
        Some(Joint {
            mask: buckets - 1,
            ka,
            kb,
            rows,
        })
    }

    /// [`Model::probabilities_of_both`] of the two models this was fused from (`a` and `b` must
    /// be those, in that order). `grams` holds the buffers, reused from request to request:
    /// hashing first and summing in a loop of its own keeps the sums in vector registers.
    pub(crate) fn probabilities(
        &self,
        a: Option<&Model>,
        b: Option<&Model>,
        text: &str,
        grams: &mut Grams,
    ) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
        debug_assert_eq!(a.map_or(0, |m| m.labels.len()), self.ka);
        debug_assert_eq!(b.map_or(0, |m| m.labels.len()), self.kb);
        let Grams { hashes, repeats } = grams;
        hashes.clear();
        features::for_each_hash(text, |h| hashes.push(h));
        if hashes.is_empty() {
            return (None, None);
        }
        let mut totals = [0i64; ROW];
        for chunk in hashes.chunks(FLUSH_EVERY) {
            let mut lanes = [0i32; ROW];
            for &h in chunk {
                let Some(row) = self.rows.get(h as usize & self.mask) else {
                    continue;
                };
                for (lane, &v) in lanes.iter_mut().zip(row) {
                    *lane += i32::from(v);
                }
            }
            for (t, l) in totals.iter_mut().zip(lanes) {
                *t += i64::from(l);
            }
        }
        repeats.begin(self.rows.len());
        repeats.add_all(hashes, self.mask);
        let extra = repeats.extra(|b| match self.rows.get(b) {
            Some(row) => [i64::from(row[ROW - 2]), i64::from(row[ROW - 1])],
            None => [0, 0],
        });
        let sums: Vec<f32> = totals[..ROW - 2].iter().map(|&t| t as f32).collect();
        let (squares_a, squares_b) = (
            (totals[ROW - 2] + extra[0]) as f32,
            (totals[ROW - 1] + extra[1]) as f32,
        );
        (
            a.map(|m| m.calibrated(&sums[..self.ka], squares_a)),
            b.map(|m| m.calibrated(&sums[self.ka..self.ka + self.kb], squares_b)),
        )
    }
}

/// One label with its probability, as the model ranks them.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked<'a> {
    pub label: &'a str,
    pub index: usize,
    pub probability: f64,
}

impl Model {
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The index of a label, if the model has it.
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    pub fn provenance(&self) -> Option<&Provenance> {
        self.provenance.as_ref()
    }

    fn buckets(&self) -> usize {
        1 << self.bits
    }

    /// The calibrated probabilities from the sums of weight × IDF per label and the sum of
    /// squared IDF values: sums scaled to unit length, per-label scale and bias, the temperature,
    /// a softmax.
    fn calibrated(&self, sums: &[f32], squares: f32) -> Vec<f64> {
        // The sums and squares come in units of IDF × 16 (the file's bytes).
        let norm = squares.sqrt().max(MIN_NORM * 16.0);
        let t = f64::from(self.temperature);
        let z: Vec<f64> = sums
            .iter()
            .zip(&self.scales)
            .zip(&self.bias)
            .map(|((&l, &s), &b)| f64::from((l / norm) * s + b) / t)
            .collect();
        softmax(&z)
    }

    /// The label probabilities of a text's features, in label order.
    pub fn probabilities(&self, features: &Features) -> Vec<f64> {
        let t = f64::from(self.temperature);
        let z: Vec<f64> = self.logits(features).iter().map(|l| l / t).collect();
        softmax(&z)
    }

    /// The features as the model weighs them: (bucket, idf) of each occurrence, scaled to unit
    /// length.
    pub fn weigh(&self, features: &Features) -> Vec<(u32, f32)> {
        weigh(features, &self.idf, self.bits)
    }

    /// The uncalibrated logits (temperature 1), in label order.
    pub fn logits(&self, features: &Features) -> Vec<f64> {
        let mut sums = Sums::new(self);
        for &(bucket, value) in &self.weigh(features) {
            sums.add(bucket, value);
        }
        sums.finish()
            .iter()
            .zip(&self.scales)
            .zip(&self.bias)
            .map(|((&l, &s), &b)| f64::from(l * s + b))
            .collect()
    }

    /// The calibrated label probabilities of a normalized text, `None` when it has no n-gram:
    /// [`probabilities`](Self::probabilities) of [`Features::of`] in one pass, as the serving
    /// path needs it. Each n-gram is hashed, looked up and added to the labels' sums as it comes,
    /// with no feature list kept; the unit-length scaling is applied once at the end (the same
    /// value up to float rounding).
    pub fn probabilities_of(&self, text: &str) -> Option<Vec<f64>> {
        Model::probabilities_of_both(Some(self), None, text).0
    }

    /// [`probabilities_of`](Self::probabilities_of) of two models (the classifier and the
    /// emergency check) in one pass over the text: hashing the n-grams is most of the cost, and
    /// it is the same for every model (each takes its own buckets, weights and IDF from a hash).
    pub fn probabilities_of_both(
        a: Option<&Model>,
        b: Option<&Model>,
        text: &str,
    ) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
        let (mut pa, mut pb) = (a.map(Pass::new), b.map(Pass::new));
        if pa.is_none() && pb.is_none() {
            return (None, None);
        }
        let mut any = false;
        features::for_each_hash(text, |h| {
            any = true;
            if let Some(p) = &mut pa {
                p.add(h);
            }
            if let Some(p) = &mut pb {
                p.add(h);
            }
        });
        if !any {
            return (None, None);
        }
        (pa.map(Pass::finish), pb.map(Pass::finish))
    }

    /// The labels by decreasing probability (ties by label order).
    pub fn rank(&self, probabilities: &[f64]) -> Vec<Ranked<'_>> {
        let mut ranked: Vec<Ranked<'_>> = self
            .labels
            .iter()
            .zip(probabilities)
            .enumerate()
            .map(|(index, (label, &probability))| Ranked {
                label,
                index,
                probability,
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then(a.index.cmp(&b.index))
        });
        ranked
    }

    /// The n-grams of `text` that weighed most for label `index`, most first (at most `n`,
    /// each once, only those that pushed towards the label). Single characters are left out: an
    /// operator reads "物业" as a reason, not "物".
    pub fn weighed_most(
        &self,
        features: &Features,
        text: &str,
        index: usize,
        n: usize,
    ) -> Vec<String> {
        let k = self.labels.len();
        let mask = self.buckets() - 1;
        let Some(&scale) = self.scales.get(index) else {
            return Vec::new();
        };
        let mut scored: Vec<(f32, &str)> = features
            .grams(text)
            .filter(|(_, gram)| gram.chars().nth(1).is_some())
            .filter_map(|(bucket, gram)| {
                let w = self.weights.get((bucket as usize & mask) * k + index)?;
                let c = f32::from(*w) * scale;
                (c > 0.0).then_some((c, gram))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let mut out: Vec<String> = Vec::new();
        for (_, gram) in scored {
            // A longer n-gram that holds one already listed says the same thing.
            if out
                .iter()
                .any(|g| g.contains(gram) || gram.contains(g.as_str()))
            {
                continue;
            }
            out.push(gram.to_owned());
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// The model as its file: the magic line, a JSON header line, then the weights in hex, 64
    /// bytes a line.
    pub fn to_file(&self) -> String {
        let header = Header {
            labels: self.labels.clone(),
            bits: self.bits,
            scales: self.scales.clone(),
            bias: self.bias.clone(),
            temperature: self.temperature,
            provenance: self.provenance.clone(),
        };
        let mut out = String::with_capacity(self.weights.len() * 2 + self.weights.len() / 32 + 512);
        out.push_str(MAGIC);
        out.push('\n');
        out.push_str(&serde_json::to_string(&header).unwrap_or_default());
        out.push('\n');
        let bytes: Vec<u8> = self.weights.iter().map(|&w| w as u8).collect();
        for chunk in bytes.chunks(64) {
            out.push_str(&hex::encode(chunk));
            out.push('\n');
        }
        out.push_str("idf\n");
        for chunk in self.idf.chunks(64) {
            out.push_str(&hex::encode(chunk));
            out.push('\n');
        }
        out
    }

    /// Reads a model file; the error says what is wrong, with the line.
    pub fn parse(text: &str) -> Result<Model, (u32, String)> {
        let mut lines = text.lines();
        match lines.next() {
            Some(MAGIC) => {}
            Some(line) if line.starts_with(OLDER) => {
                return Err((
                    1,
                    format!(
                        "this model was trained with features of another version (\"{line}\", \
                         this router reads \"{MAGIC}\"); train it again with the command its \
                         header records"
                    ),
                ));
            }
            _ => return Err((1, format!("a model file starts with the line \"{MAGIC}\""))),
        }
        let header: Header = serde_json::from_str(lines.next().unwrap_or_default())
            .map_err(|e| (2, format!("the model's header is not valid: {e}")))?;
        let k = header.labels.len();
        if !(2..=MAX_LABELS).contains(&k) {
            return Err((2, format!("a model has 2 to {MAX_LABELS} labels, not {k}")));
        }
        if header.bits == 0 || header.bits > MAX_BITS {
            return Err((
                2,
                format!("bits must be 1 to {MAX_BITS}, not {}", header.bits),
            ));
        }
        if header.scales.len() != k || header.bias.len() != k {
            return Err((2, "scales and bias need one value per label".to_owned()));
        }
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        if !finite(&header.scales) || !finite(&header.bias) || !header.temperature.is_finite() {
            return Err((
                2,
                "scales, bias and temperature must be finite numbers".to_owned(),
            ));
        }
        if header.temperature <= 0.0 {
            return Err((2, "temperature must be above 0".to_owned()));
        }
        let expected = (1usize << header.bits) * k;
        let mut weights = Vec::with_capacity(expected);
        let mut idf = Vec::with_capacity(1 << header.bits);
        let mut in_idf = false;
        for (i, line) in lines.enumerate() {
            if line == "idf" {
                in_idf = true;
                continue;
            }
            let bytes = hex::decode(line.trim())
                .map_err(|e| (i as u32 + 3, format!("weights are hexadecimal: {e}")))?;
            if in_idf {
                idf.extend(bytes);
            } else {
                weights.extend(bytes.into_iter().map(|b| b as i8));
            }
            if weights.len() > expected || idf.len() > 1 << header.bits {
                break;
            }
        }
        if weights.len() != expected {
            return Err((
                3,
                format!(
                    "the model has {} weights, not 2^{} buckets × {k} labels = {expected}",
                    weights.len(),
                    header.bits
                ),
            ));
        }
        if idf.len() != 1 << header.bits {
            return Err((
                3,
                format!(
                    "the model has {} idf values, not 2^{} = {}",
                    idf.len(),
                    header.bits,
                    1usize << header.bits
                ),
            ));
        }
        Ok(Model {
            labels: header.labels,
            bits: header.bits,
            weights,
            scales: header.scales,
            bias: header.bias,
            idf,
            temperature: header.temperature,
            provenance: header.provenance,
        })
    }
}

/// (bucket, count × idf / 16) of each bucket the text's n-grams fall in, scaled to unit length,
/// or by [`MIN_NORM`] when the vector is shorter: the text's TF-IDF vector.
///
/// The length is that of the grouped vector (a bucket's count times its IDF), so that a text
/// that repeats itself weighs what it weighs once. Until version 4 it was the root of the sum
/// over occurrences, which grows more slowly than the counts: the logits grew with the root of
/// the number of repeats, and "小区停水了" written a hundred times was flagged by the
/// emergency check.
pub(crate) fn weigh(features: &Features, idf: &[u8], bits: u8) -> Vec<(u32, f32)> {
    let mask = (1u32 << bits) - 1;
    let mut buckets: Vec<u32> = features.hashes().iter().map(|&h| h & mask).collect();
    buckets.sort_unstable();
    let mut out: Vec<(u32, f32)> = buckets
        .chunk_by(|a, b| a == b)
        .map(|run| {
            let b = run[0];
            let idf = f32::from(idf.get(b as usize).copied().unwrap_or(16)) / 16.0;
            (b, run.len() as f32 * idf)
        })
        .collect();
    let norm = out
        .iter()
        .map(|x| x.1 * x.1)
        .sum::<f32>()
        .sqrt()
        .max(MIN_NORM);
    if norm > 0.0 {
        for x in &mut out {
            x.1 /= norm;
        }
    }
    out
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = z.iter().map(|&v| (v - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<(String, String)> {
        let a = [
            "物业费太贵",
            "小区物业不管",
            "物业乱收费",
            "物业服务差",
            "物业公司收费",
        ];
        let b = [
            "公司拖欠工资",
            "老板不发工资",
            "欠薪三个月",
            "工资被拖欠",
            "讨要工资",
        ];
        a.iter()
            .map(|t| (t.to_string(), "住房".to_string()))
            .chain(b.iter().map(|t| (t.to_string(), "劳动".to_string())))
            .collect()
    }

    /// A model fitted on `rows` with 2^`bits` buckets and the other options at their defaults.
    fn fitted(rows: &[(String, String)], bits: u8) -> Model {
        let opts = train::Options {
            bits,
            ..train::Options::default()
        };
        train::fit(&train::prepare(rows), &opts)
    }

    #[test]
    fn learns_separable_labels_and_round_trips_through_its_file() {
        let model = fitted(&rows(), 12);
        let f = Features::of("物业又收费了");
        let p = model.probabilities(&f);
        assert_eq!(model.rank(&p)[0].label, "住房", "{p:?}");
        let p = model.probabilities(&Features::of("拖欠工资"));
        assert_eq!(model.rank(&p)[0].label, "劳动", "{p:?}");
        let again = Model::parse(&model.to_file()).unwrap();
        assert_eq!(again, model);
        let words = model.weighed_most(&Features::of("物业又收费了"), "物业又收费了", 0, 3);
        assert!(
            words
                .iter()
                .any(|w| w.contains("物业") || w.contains("收费")),
            "{words:?}"
        );
    }

    #[test]
    fn the_one_pass_probabilities_are_those_of_the_features() {
        let model = fitted(&rows(), 10);
        for text in ["物业又收费了", "工资拖欠三个月，老板跑了", "a1，b", "一"]
        {
            let slow = model.probabilities(&Features::of(text));
            let fast = model.probabilities_of(text).unwrap();
            assert_eq!(slow.len(), fast.len());
            for (a, b) in slow.iter().zip(&fast) {
                assert!((a - b).abs() < 1e-5, "{text}: {slow:?} vs {fast:?}");
            }
        }
        assert_eq!(model.probabilities_of("，。！"), None);
        assert_eq!(model.probabilities_of(""), None);
    }

    /// The largest difference between two probability lists.
    fn apart(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn a_text_repeated_says_what_it_says_once() {
        let model = fitted(&rows(), 12);
        // Copies apart (punctuation ends a run of n-grams): the same counts, times n.
        let text = "工资拖欠三个月，老板跑了。";
        let ten = model.probabilities_of(&text.repeat(10)).unwrap();
        for n in [11, 100, 1000] {
            let p = model.probabilities_of(&text.repeat(n)).unwrap();
            assert!(apart(&p, &ten) < 1e-5, "×{n}: {p:?} vs {ten:?}");
            let slow = model.probabilities(&Features::of(&text.repeat(n)));
            assert!(apart(&p, &slow) < 1e-5, "×{n}: {p:?} vs {slow:?}");
        }
        // Copies run together: only the n-grams across the seams differ.
        let run = |n: usize| model.probabilities_of(&"物业又收费了".repeat(n)).unwrap();
        assert!(apart(&run(100), &run(1000)) < 1e-3);
    }

    #[test]
    fn a_very_short_text_moves_the_probabilities_less() {
        let model = fitted(&rows(), 12);
        let top = |text: &str| {
            let p = model.probabilities_of(text).unwrap();
            let best = model.rank(&p)[0].clone();
            (best.label.to_owned(), best.probability)
        };
        let (label, short) = top("欠薪");
        let (label_long, long) = top(&"欠薪。".repeat(40));
        assert_eq!(label, label_long);
        assert!(short < long, "{short} against {long}");
    }

    /// The texts with a variant of each: the same text twice over, so that one text's buckets
    /// are met again by the next.
    fn model_text_pairs(texts: &[&str]) -> Vec<String> {
        texts
            .iter()
            .flat_map(|t| [t.to_string(), format!("{t}{t}")])
            .collect()
    }

    #[test]
    fn the_fused_tables_give_the_probabilities_of_each_model() {
        let a = fitted(&rows(), 10);
        // A second model over other labels (three), as the emergency check is beside the
        // classifier.
        let mut other = rows();
        other.push(("着火了冒烟".to_owned(), "119".to_owned()));
        other.push(("楼道起火".to_owned(), "119".to_owned()));
        let b = fitted(&other, 10);
        assert_eq!(b.labels().len(), 3);
        let texts = [
            "物业又收费了",
            "工资拖欠三个月，老板跑了",
            "楼道着火了，物业不管",
            // Repeated n-grams: the grouped length's correction, in both paths.
            "物业又收费了，物业又收费了，物业物业",
            "a1，b",
            "一",
        ];
        let mut hashes = Grams::default();
        for (ma, mb) in [(Some(&a), Some(&b)), (Some(&a), None), (None, Some(&b))] {
            let joint = Joint::new(ma, mb).unwrap();
            for text in texts {
                let (fa, fb) = joint.probabilities(ma, mb, text, &mut hashes);
                let (sa, sb) = Model::probabilities_of_both(ma, mb, text);
                assert_eq!((fa.is_some(), fb.is_some()), (sa.is_some(), sb.is_some()));
                for (fast, slow) in [(fa, sa), (fb, sb)] {
                    for (x, y) in fast.iter().flatten().zip(slow.iter().flatten()) {
                        assert!((x - y).abs() < 1e-9, "{text}: {x} vs {y}");
                    }
                }
            }
            assert_eq!(
                joint.probabilities(ma, mb, "，。", &mut hashes),
                (None, None)
            );
            // Past the 255 texts after which the repeats' tags turn over: a tag of an earlier
            // text must never count as a repeat.
            let repeated = model_text_pairs(&texts);
            for (i, text) in repeated.iter().cycle().take(600).enumerate() {
                let (fa, fb) = joint.probabilities(ma, mb, text, &mut hashes);
                let (sa, sb) = Model::probabilities_of_both(ma, mb, text);
                for (fast, slow) in [(fa, sa), (fb, sb)] {
                    for (x, y) in fast.iter().flatten().zip(slow.iter().flatten()) {
                        assert!((x - y).abs() < 1e-9, "text {i}, {text}: {x} vs {y}");
                    }
                }
            }
        }
        let fewer = fitted(&rows(), 9);
        assert!(
            Joint::new(Some(&a), Some(&fewer)).is_none(),
            "bucket counts differ"
        );
        assert!(Joint::new(None, None).is_none());
        let mut heavy = a.clone();
        heavy.idf[0] = MAX_JOINT_IDF + 1;
        assert!(
            Joint::new(Some(&heavy), Some(&b)).is_none(),
            "a squared IDF past an i16 lane"
        );
    }

    #[test]
    fn the_bundled_models_are_fused() {
        let set = crate::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rules"
        )))
        .expect("bundled rules");
        assert!(
            set.joint.is_some(),
            "the request path sums both models in one table"
        );
    }

    #[test]
    fn training_is_deterministic() {
        let a = fitted(&rows(), 12).to_file();
        let b = fitted(&rows(), 12).to_file();
        assert_eq!(a, b);
    }

    #[test]
    fn a_damaged_file_is_refused_with_its_line() {
        assert_eq!(Model::parse("nonsense").unwrap_err().0, 1);
        let older = Model::parse("hotline-router classifier 1\n{}").unwrap_err();
        assert_eq!(older.0, 1);
        assert!(older.1.contains("train it again"), "{}", older.1);
        assert_eq!(Model::parse(&format!("{MAGIC}\n{{}}")).unwrap_err().0, 2);
        let file = fitted(&rows(), 8).to_file();
        let cut: String = file.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(Model::parse(&cut).unwrap_err().1.contains("weights"));
        let bad = file.replace("\"temperature\":", "\"temperature\":-");
        assert!(Model::parse(&bad).is_err());
    }
}
