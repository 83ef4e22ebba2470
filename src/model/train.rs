//! Training: multinomial logistic regression by stochastic gradient descent over the hashed
//! n-grams, deterministic (a fixed seed orders the rows, one thread, the same float operations in
//! the same order), so that the same rows give the same model file, byte for byte.
//!
//! [`train`] first cross-validates (k folds with a fixed shuffle, [`folds`], shared with `eval
//! --folds` so that rules and model are judged on the same held-out rows), fits the calibration
//! temperature on the out-of-fold logits (a grid search minimizing log loss), then trains on
//! every row and records the cross-validated figures in the model.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Features, Model, Provenance};
use crate::engine::explain::round;

/// Training settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// log2 of the number of hash buckets.
    pub bits: u8,
    pub epochs: u32,
    pub learning_rate: f32,
    /// How much a bucket's IDF grows when its rows fall under one label (see [`idf`]): 0 is
    /// plain IDF.
    pub concentration: f32,
    /// Seeds the order of the rows in each epoch and the folds.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // Chosen by 5-fold cross-validation on the development corpus (docs/accuracy.md).
            bits: 16,
            epochs: 20,
            learning_rate: 4.0,
            concentration: 1.0,
            seed: 0x1234_5345,
        }
    }
}

/// The model's own figures on held-out folds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossValidated {
    pub folds: usize,
    /// Share of rows whose top label is the gold label, each row predicted by the model that did
    /// not see it.
    pub accuracy: f64,
    /// Mean negative log-likelihood of the gold label, after calibration.
    pub log_loss: f64,
    /// Expected calibration error (10 bins of top-label probability), after calibration.
    pub calibration_error: f64,
}

/// Rows ready for training: features, label indices and the sorted label set.
pub struct Data {
    pub labels: Vec<String>,
    pub x: Vec<Features>,
    pub y: Vec<usize>,
    /// The first `scored` rows are the corpus: cross-validation splits them into folds and scores
    /// them. The rows after them (the rule files' examples, see [`prepare_with`]) are in every
    /// fold's training rows and never scored, so the recorded figures are the corpus's alone.
    pub scored: usize,
    /// SHA-256 of the rows as given.
    pub sha256: String,
}

/// Normalizes and featurizes (text, label) rows; labels are sorted, so the model's label order
/// does not depend on row order.
pub fn prepare(rows: &[(String, String)]) -> Data {
    prepare_with(rows, &[])
}

/// [`prepare`] of the corpus `rows` followed by `always`: rows trained in every fold and never
/// scored (the rule files' examples: not messages of the corpus, so they cannot leak a held-out
/// row, and they teach the classifier the rule authors' categories for their own phrasings).
pub fn prepare_with(rows: &[(String, String)], always: &[(String, String)]) -> Data {
    let scored = rows.len();
    let rows: Vec<&(String, String)> = rows.iter().chain(always).collect();
    let mut labels: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    labels.sort();
    labels.dedup();
    let mut hasher = Sha256::new();
    let mut normalized = crate::engine::normalize::Normalized::default();
    let mut x = Vec::with_capacity(rows.len());
    let mut y = Vec::with_capacity(rows.len());
    for &(text, label) in &rows {
        hasher.update(text.as_bytes());
        hasher.update([0]);
        hasher.update(label.as_bytes());
        hasher.update([0]);
        crate::engine::normalize::normalize_into(text, &mut normalized);
        x.push(Features::of(normalized.text()));
        y.push(labels.binary_search(label).unwrap_or(0));
    }
    Data {
        labels,
        x,
        y,
        scored,
        sha256: hex::encode(hasher.finalize()),
    }
}

/// The fold (0..k) of each of `n` rows: a fixed shuffle, then round robin, so folds differ in
/// size by at most one and are the same on every run.
pub fn folds(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng(seed | 1);
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut fold = vec![0; n];
    for (pos, &row) in order.iter().enumerate() {
        fold[row] = pos % k.max(1);
    }
    fold
}

/// Cross-validates, calibrates, trains on every row. `command` is recorded in the model.
pub fn train(data: &Data, opts: &Options, k: usize, command: &str) -> Model {
    // Rows past `scored` belong to no fold: every fold trains on them.
    let mut fold = folds(data.scored, k, opts.seed);
    fold.resize(data.x.len(), usize::MAX);
    let mut logits: Vec<Vec<f64>> = vec![Vec::new(); data.scored];
    for f in 0..k {
        let model = fit_rows(data, opts, |i| fold[i] != f);
        for (i, l) in logits.iter_mut().enumerate() {
            if fold[i] == f {
                *l = model.logits(&data.x[i]);
            }
        }
    }
    let y = &data.y[..data.scored];
    let temperature = fit_temperature(&logits, y);
    let mut model = fit(data, opts);
    model.temperature = temperature as f32;
    model.provenance = Some(Provenance {
        data_sha256: data.sha256.clone(),
        rows: data.x.len(),
        command: command.to_owned(),
        cross_validated: figures(&logits, y, temperature, k),
    });
    model
}

/// Trains on every row (temperature 1, no provenance).
pub fn fit(data: &Data, opts: &Options) -> Model {
    fit_rows(data, opts, |_| true)
}

/// Trains on the rows `keep` accepts.
pub fn fit_rows(data: &Data, opts: &Options, keep: impl Fn(usize) -> bool) -> Model {
    let k = data.labels.len();
    let buckets = 1usize << opts.bits;
    let mask = buckets - 1;
    let mut w = vec![0f32; buckets * k];
    let mut b = vec![0f32; k];
    let mut rows: Vec<usize> = (0..data.x.len()).filter(|&i| keep(i)).collect();
    let idf = idf(data, &rows, opts.bits, opts.concentration);
    let x: Vec<Vec<(u32, f32)>> = (0..data.x.len())
        .map(|i| {
            if keep(i) {
                super::weigh(&data.x[i], &idf, opts.bits)
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut rng = Rng(opts.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut z = vec![0f32; k];
    for epoch in 0..opts.epochs {
        for i in (1..rows.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            rows.swap(i, j);
        }
        let lr = opts.learning_rate / (1.0 + epoch as f32);
        for &i in &rows {
            let x = &x[i];
            z.copy_from_slice(&b);
            for &(h, v) in x {
                let row = (h as usize & mask) * k;
                for (zl, wl) in z.iter_mut().zip(&w[row..row + k]) {
                    *zl += wl * v;
                }
            }
            softmax_in_place(&mut z);
            z[data.y[i]] -= 1.0;
            for &(h, v) in x {
                let row = (h as usize & mask) * k;
                for (wl, g) in w[row..row + k].iter_mut().zip(&z) {
                    *wl -= lr * g * v;
                }
            }
            for (bl, g) in b.iter_mut().zip(&z) {
                *bl -= lr * g;
            }
        }
    }
    let mut model = quantize(&data.labels, opts.bits, &w, b);
    model.idf = idf;
    model
}

/// Per bucket: its inverse document frequency, ln((1 + rows) / (1 + rows with it)) + 1, times
/// (1 + `concentration` × c) / (1 + `concentration`), where c (0 to 1) says how much the bucket's
/// rows fall under one label: 1 − the entropy of its labels over ln(labels), the labels counted
/// once per row and smoothed towards the labels' shares of all rows by one pseudo-row. × 16 in
/// one byte (at most 15.9).
///
/// Why. IDF weighs an n-gram by how rare it is, whatever it says about the labels: 我家 and
/// 工资 of equal rarity weigh alike before training. Scaled by how much an n-gram's rows agree
/// on a label (supervised term weighting), the n-grams that name a matter stand out in the
/// text's unit-length vector against those of the caller's circumstances. Measured with `eval
/// --folds 5` on four shuffles of the development corpus (docs/accuracy.md): concentration 1
/// against 0, the classifier's top-1 accuracy +0.005 on average, and the rules with it as
/// shipped +0.0019 … +0.0054 overall, accuracy on dispatched requests within ±0.0012. The
/// weights are the training rows' only, so a fold's model learns them without its held-out
/// rows.
fn idf(data: &Data, rows: &[usize], bits: u8, concentration: f32) -> Vec<u8> {
    let mask = (1u32 << bits) - 1;
    let k = data.labels.len().max(1);
    let mut df = vec![0u32; 1 << bits];
    // Per bucket and label, the rows holding it (only when the weighting needs them).
    let weighted = concentration > 0.0 && k > 1;
    let mut by_label = if weighted {
        vec![0u32; (1 << bits) * k]
    } else {
        Vec::new()
    };
    let mut share = vec![0f32; k];
    let mut buckets: Vec<u32> = Vec::new();
    for &i in rows {
        buckets.clear();
        buckets.extend(data.x[i].hashes().iter().map(|h| h & mask));
        buckets.sort_unstable();
        buckets.dedup();
        let y = data.y[i];
        share[y] += 1.0;
        for &b in &buckets {
            df[b as usize] += 1;
            if weighted {
                by_label[b as usize * k + y] += 1;
            }
        }
    }
    let n = rows.len() as f32;
    for s in &mut share {
        *s /= n.max(1.0);
    }
    let ln_k = (k as f32).ln();
    df.into_iter()
        .enumerate()
        .map(|(b, d)| {
            let mut idf = ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0;
            if weighted {
                let counts = &by_label[b * k..(b + 1) * k];
                let entropy: f32 = counts
                    .iter()
                    .zip(&share)
                    .map(|(&c, &s)| (c as f32 + s) / (d as f32 + 1.0))
                    .filter(|&q| q > 0.0)
                    .map(|q| -q * q.ln())
                    .sum();
                let c = (1.0 - entropy / ln_k).clamp(0.0, 1.0);
                idf *= (1.0 + concentration * c) / (1.0 + concentration);
            }
            (idf * 16.0).round().clamp(1.0, 255.0) as u8
        })
        .collect()
}

/// One signed byte per weight, scaled per label by its largest weight.
fn quantize(labels: &[String], bits: u8, w: &[f32], bias: Vec<f32>) -> Model {
    let k = labels.len();
    let scales: Vec<f32> = (0..k)
        .map(|l| {
            let max = w
                .iter()
                .skip(l)
                .step_by(k)
                .fold(0f32, |m, x| m.max(x.abs()));
            if max > 0.0 { max / 127.0 } else { 1.0 }
        })
        .collect();
    let weights = w
        .iter()
        .enumerate()
        .map(|(i, x)| (x / scales[i % k]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    Model {
        labels: labels.to_vec(),
        bits,
        weights,
        scales,
        bias,
        idf: Vec::new(),
        temperature: 1.0,
        provenance: None,
    }
}

/// The temperature that minimizes the log loss of the out-of-fold logits (0.25 to 4).
fn fit_temperature(logits: &[Vec<f64>], y: &[usize]) -> f64 {
    let mut best = (f64::INFINITY, 1.0);
    for step in 0..=80 {
        let t = 0.25 * 16f64.powf(f64::from(step) / 80.0);
        let loss = log_loss(logits, y, t);
        if loss < best.0 {
            best = (loss, t);
        }
    }
    // Three significant digits: the file records it, and a rounder number reads better.
    (best.1 * 1000.0).round() / 1000.0
}

fn log_loss(logits: &[Vec<f64>], y: &[usize], t: f64) -> f64 {
    let n = logits.len().max(1) as f64;
    logits
        .iter()
        .zip(y)
        .map(|(l, &gold)| {
            let p = probabilities(l, t);
            -p.get(gold).copied().unwrap_or(0.0).max(1e-12).ln()
        })
        .sum::<f64>()
        / n
}

fn figures(logits: &[Vec<f64>], y: &[usize], t: f64, folds: usize) -> CrossValidated {
    let n = logits.len().max(1) as f64;
    let mut right = 0usize;
    let mut bins = [(0f64, 0f64, 0usize); 10];
    for (l, &gold) in logits.iter().zip(y) {
        let p = probabilities(l, t);
        let (top, &pt) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .unwrap_or((0, &0.0));
        let hit = top == gold;
        right += usize::from(hit);
        let bin = ((pt * 10.0) as usize).min(9);
        bins[bin].0 += pt;
        bins[bin].1 += f64::from(u8::from(hit));
        bins[bin].2 += 1;
    }
    // Σ over bins of (rows in bin / n) × |mean confidence − accuracy| = Σ |Σconf − Σhits| / n.
    let ece = bins
        .iter()
        .map(|&(conf, hits, _)| (conf - hits).abs())
        .sum::<f64>()
        / n;
    CrossValidated {
        folds,
        accuracy: round(right as f64 / n),
        log_loss: round(log_loss(logits, y, t)),
        calibration_error: round(ece),
    }
}

fn probabilities(logits: &[f64], t: f64) -> Vec<f64> {
    let z: Vec<f64> = logits.iter().map(|l| l / t).collect();
    super::softmax(&z)
}

fn softmax_in_place(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// xorshift64*: a small deterministic generator (the order of rows needs no more).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::{folds, idf, prepare};

    /// The IDF byte of `text`'s single character in a model of `rows`.
    fn weight_of(rows: &[(&str, &str)], text: &str, concentration: f32) -> u8 {
        let rows: Vec<(String, String)> = rows
            .iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect();
        let data = prepare(&rows);
        let all: Vec<usize> = (0..rows.len()).collect();
        let table = idf(&data, &all, 16, concentration);
        let hash = crate::model::Features::of(text).hashes()[0];
        table[(hash & 0xffff) as usize]
    }

    #[test]
    fn an_ngram_of_one_label_weighs_more_than_one_as_rare_spread_over_labels() {
        // 水 and 的 occur in two rows each: 水 in two of water, 的 in one of water and one of
        // wages.
        let rows = [
            ("停水", "water"),
            ("水的", "water"),
            ("欠薪的", "wages"),
            ("工资", "wages"),
        ];
        let (water, of) = (weight_of(&rows, "水", 1.0), weight_of(&rows, "的", 1.0));
        assert!(water > of, "水 {water}, 的 {of}");
        // Without the weighting, equal rarity is equal weight: plain IDF, as before it.
        assert_eq!(weight_of(&rows, "水", 0.0), weight_of(&rows, "的", 0.0));
        assert!(weight_of(&rows, "水", 0.0) >= water);
    }

    #[test]
    fn folds_are_balanced_and_fixed() {
        let f = folds(103, 5, 7);
        assert_eq!(f, folds(103, 5, 7));
        for k in 0..5 {
            let n = f.iter().filter(|&&x| x == k).count();
            assert!(n == 20 || n == 21, "fold {k} has {n}");
        }
        assert_ne!(f, folds(103, 5, 8));
    }
}
