//! The deployment files (deploy/Containerfile, deploy/kubernetes/) checked against the binary
//! they deploy: every `HOTLINE_*` variable and `--flag` they set must be one `serve --help`
//! lists, ports, probes, Services, mounts and selectors must agree with each other, the shutdown
//! must fit in the pod's grace period, and the committed rules ConfigMaps must equal `rules/`
//! byte for byte and load, projected as the kubelet projects them, into the same rule set as
//! `rules/` (and reload when the kubelet swaps them).
//!
//! When something a check needs is missing, the test fails saying what is missing; none passes
//! silently.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hotline-router");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kube_dir() -> PathBuf {
    root().join("deploy/kubernetes")
}

// ---------------------------------------------------------------------------------------------
// The binary's side: `serve --help`.

/// The flags (`--listen`) and environment variables (`HOTLINE_LISTEN`) `serve` accepts, and the
/// whole help text.
struct Help {
    flags: BTreeSet<String>,
    envs: BTreeSet<String>,
    text: String,
}

fn serve_help() -> Help {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--help"]);
    // clap prints the current value of a variable that is set (`[env: HOTLINE_LISTEN=0.0.0.0:1]`).
    for (k, _) in std::env::vars() {
        if k.starts_with("HOTLINE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().expect("runs hotline-router serve --help");
    assert!(out.status.success(), "serve --help failed: {out:?}");
    let text = String::from_utf8(out.stdout).expect("help is UTF-8");
    // clap may wrap a long line between "[env:" and the name: scan with whitespace collapsed.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut flags = BTreeSet::new();
    let mut envs = BTreeSet::new();
    for word in flat.split([' ', ',', '[', ']', '<', '>', '=']) {
        if let Some(name) = word.strip_prefix("--")
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        {
            flags.insert(format!("--{name}"));
        }
    }
    let mut rest = flat.as_str();
    while let Some(i) = rest.find("[env: ") {
        rest = &rest[i + 6..];
        let end = rest.find(['=', ']']).unwrap_or(rest.len());
        envs.insert(rest[..end].trim().to_owned());
    }
    assert!(
        flags.contains("--listen") && envs.contains("HOTLINE_LISTEN"),
        "could not read flags and [env: …] names from `serve --help`:\n{text}"
    );
    Help { flags, envs, text }
}

// ---------------------------------------------------------------------------------------------
// The manifests.

/// One YAML document of a manifest file.
struct Doc {
    file: String,
    value: Value,
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

fn manifests() -> Vec<Doc> {
    let mut files = Vec::new();
    yaml_files(&kube_dir(), &mut files);
    assert!(
        !files.is_empty(),
        "no manifests under {}",
        kube_dir().display()
    );
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(kube_dir()).unwrap().display().to_string();
        let values: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("deploy/kubernetes/{name} is not valid YAML: {e}"));
        for value in values {
            if !value.is_null() {
                docs.push(Doc {
                    file: name.clone(),
                    value,
                });
            }
        }
    }
    docs
}

fn kind<'a>(docs: &'a [Doc], kind: &str) -> Vec<&'a Doc> {
    docs.iter()
        .filter(|d| {
            d.value["kind"] == kind && d.value["apiVersion"] != "kustomize.config.k8s.io/v1beta1"
        })
        .collect()
}

fn one<'a>(docs: &'a [Doc], kind_name: &str, file: &str) -> &'a Value {
    let found: Vec<_> = kind(docs, kind_name)
        .into_iter()
        .filter(|d| d.file == file)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind_name} in deploy/kubernetes/{file}, found {}",
        found.len()
    );
    &found[0].value
}

fn base_deployment(docs: &[Doc]) -> &Value {
    one(docs, "Deployment", "base/deployment.yaml")
}

/// The TLS overlay's strategic-merge patch of the Deployment.
fn tls_patch(docs: &[Doc]) -> &Value {
    one(docs, "Deployment", "tls/deployment-tls.yaml")
}

fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("spec.template.spec.containers");
    containers
        .iter()
        .find(|c| c["name"] == "hotline-router")
        .expect("a container named hotline-router")
}

/// name → literal value ("" for valueFrom).
fn env(container: &Value) -> BTreeMap<String, Value> {
    container["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let v = if e.get("value").is_some() {
                        e["value"].clone()
                    } else {
                        e["valueFrom"].clone()
                    };
                    (e["name"].as_str().unwrap().to_owned(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn env_str(env: &BTreeMap<String, Value>, name: &str) -> String {
    match env.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        other => panic!("{name} must be set to a literal value in the Deployment, is {other:?}"),
    }
}

fn port_of(addr: &str) -> u64 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("\"{addr}\" has no port"))
}

/// Container ports by name.
fn container_ports(container: &Value) -> BTreeMap<String, u64> {
    container["ports"]
        .as_array()
        .expect("container ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("every port is named").to_owned(),
                p["containerPort"].as_u64().expect("containerPort"),
            )
        })
        .collect()
}

/// A port given by number or by name, as a number.
fn resolve(port: &Value, ports: &BTreeMap<String, u64>) -> Option<u64> {
    match port {
        Value::Number(n) => n.as_u64().filter(|n| ports.values().any(|p| p == n)),
        Value::String(s) => ports.get(s).copied(),
        _ => None,
    }
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn selects(selector: &BTreeMap<String, String>, pod: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| pod.get(k) == Some(v))
}

/// Kubernetes quantity of memory in bytes (Mi, Gi, M, G, plain).
fn bytes(q: &str) -> u64 {
    let units = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    for (suffix, mult) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<u64>().expect("quantity") * mult;
        }
    }
    q.parse().expect("quantity")
}

// ---------------------------------------------------------------------------------------------
// The Containerfile.

struct Containerfile {
    /// Instructions of the last stage (the image), continuation lines joined.
    last_stage: Vec<(String, String)>,
}

fn containerfile() -> Containerfile {
    let path = root().join("deploy/Containerfile");
    let text = std::fs::read_to_string(&path).expect("deploy/Containerfile exists");
    let mut lines = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
        } else {
            cur.push_str(t);
            lines.push(std::mem::take(&mut cur));
        }
    }
    let mut stages: Vec<Vec<(String, String)>> = Vec::new();
    for l in lines {
        let (ins, rest) = l.split_once(' ').unwrap_or((&l, ""));
        let ins = ins.to_ascii_uppercase();
        if ins == "FROM" {
            stages.push(Vec::new());
        }
        if let Some(s) = stages.last_mut() {
            s.push((ins, rest.trim().to_owned()));
        }
    }
    assert!(
        stages.len() >= 2,
        "deploy/Containerfile should have a build stage and a runtime stage"
    );
    Containerfile {
        last_stage: stages.pop().unwrap(),
    }
}

impl Containerfile {
    fn all(&self, ins: &str) -> Vec<&str> {
        self.last_stage
            .iter()
            .filter(|(i, _)| i == ins)
            .map(|(_, r)| r.as_str())
            .collect()
    }

    fn env(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for e in self.all("ENV") {
            for pair in e.split_whitespace() {
                if let Some((k, v)) = pair.split_once('=') {
                    out.insert(k.to_owned(), v.trim_matches('"').to_owned());
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

#[test]
fn every_variable_and_flag_the_deployment_sets_is_one_serve_accepts() {
    let help = serve_help();
    let docs = manifests();
    let mut missing = Vec::new();
    let mut sets = |what: &str, c: &Value| {
        for name in env(c).keys() {
            // HOTLINE_LOG is read by the log filter, not by clap; the help names it in prose.
            let known = if name == "HOTLINE_LOG" {
                help.text.contains("HOTLINE_LOG")
            } else {
                help.envs.contains(name)
            };
            if name.starts_with("HOTLINE_") && !known {
                missing.push(format!("{what}: environment variable {name}"));
            }
        }
        for key in ["args", "command"] {
            for arg in c[key].as_array().into_iter().flatten() {
                let arg = arg.as_str().unwrap_or_default();
                let flag = arg.split('=').next().unwrap();
                if flag.starts_with("--") && !help.flags.contains(flag) {
                    missing.push(format!("{what}: flag {flag}"));
                }
            }
        }
    };
    sets("base/deployment.yaml", container(base_deployment(&docs)));
    sets("tls/deployment-tls.yaml", container(tls_patch(&docs)));
    for (k, _) in containerfile().env() {
        if k.starts_with("HOTLINE_") && !help.envs.contains(&k) {
            missing.push(format!("deploy/Containerfile: ENV {k}"));
        }
    }
    assert!(
        missing.is_empty(),
        "the manifests use names `hotline-router serve --help` does not list (the server must \
         accept them, or the manifests must stop using them):\n  {}\n\nserve accepts: {:?}",
        missing.join("\n  "),
        help.envs
    );
}

#[test]
fn ports_probes_and_services_agree() {
    let docs = manifests();
    let c = container(base_deployment(&docs));
    let env = env(c);
    let ports = container_ports(c);
    let grpc = port_of(&env_str(&env, "HOTLINE_LISTEN"));
    let metrics = port_of(&env_str(&env, "HOTLINE_METRICS_LISTEN"));
    assert_eq!(
        ports.get("grpc"),
        Some(&grpc),
        "container port \"grpc\" vs HOTLINE_LISTEN"
    );
    assert_eq!(
        ports.get("metrics"),
        Some(&metrics),
        "container port \"metrics\" vs HOTLINE_METRICS_LISTEN"
    );
    for a in [
        &env_str(&env, "HOTLINE_LISTEN"),
        &env_str(&env, "HOTLINE_METRICS_LISTEN"),
    ] {
        assert!(
            a.starts_with("0.0.0.0:") || a.starts_with("[::]:"),
            "{a}: a pod must listen on every interface"
        );
    }

    // Base: native gRPC probes on the gRPC port (grpc.health.v1, NOT_SERVING on SIGTERM).
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let p = &c[probe];
        assert!(p.is_object(), "base Deployment has no {probe}");
        assert_eq!(
            p["grpc"]["port"].as_u64(),
            Some(grpc),
            "{probe} must be a gRPC probe on port {grpc}"
        );
    }
    assert!(c["readinessProbe"].is_object() && c["livenessProbe"].is_object());
    // TLS: the kubelet's gRPC probe cannot speak TLS; the patch must replace it, on the same port.
    let t = container(tls_patch(&docs));
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let p = &t[probe];
        assert!(
            p["grpc"].is_null() && p.as_object().is_some_and(|m| m.contains_key("grpc")),
            "tls patch: {probe} must remove the plaintext gRPC probe (grpc: null)"
        );
        assert_eq!(
            resolve(&p["tcpSocket"]["port"], &ports),
            Some(grpc),
            "tls patch: {probe} port"
        );
    }

    let services = kind(&docs, "Service");
    assert!(!services.is_empty(), "no Service");
    let mut exposed = BTreeSet::new();
    for s in services {
        for p in s.value["spec"]["ports"].as_array().expect("Service ports") {
            let target = p.get("targetPort").unwrap_or(&p["port"]);
            let n = resolve(target, &ports).unwrap_or_else(|| {
                panic!(
                    "{}: Service port {} targets {target}, which is no container port {ports:?}",
                    s.file, p["name"]
                )
            });
            exposed.insert(n);
            if n == grpc && p.get("appProtocol").is_some() {
                assert_eq!(
                    p["appProtocol"], "kubernetes.io/h2c",
                    "{}: gRPC port protocol",
                    s.file
                );
            }
        }
    }
    assert!(
        exposed.contains(&grpc) && exposed.contains(&metrics),
        "the Services expose {exposed:?}"
    );

    // The image: EXPOSE and ENV say the same.
    let cf = containerfile();
    let expose: BTreeSet<u64> = cf
        .all("EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .map(|p| p.trim_end_matches("/tcp").parse().expect("EXPOSE port"))
        .collect();
    assert_eq!(
        expose,
        BTreeSet::from([grpc, metrics]),
        "Containerfile EXPOSE"
    );
    let cenv = cf.env();
    let listen = cenv
        .get("HOTLINE_LISTEN")
        .expect("Containerfile ENV HOTLINE_LISTEN");
    let mlisten = cenv
        .get("HOTLINE_METRICS_LISTEN")
        .expect("Containerfile ENV HOTLINE_METRICS_LISTEN");
    assert_eq!(
        (port_of(listen), port_of(mlisten)),
        (grpc, metrics),
        "Containerfile ENV ports"
    );
}

#[test]
fn selectors_replicas_and_the_autoscaler_agree() {
    let docs = manifests();
    let d = base_deployment(&docs);
    let pod = labels(&d["spec"]["template"]["metadata"]["labels"]);
    let selector = labels(&d["spec"]["selector"]["matchLabels"]);
    assert!(
        selects(&selector, &pod),
        "the Deployment's selector {selector:?} must match its pod labels {pod:?}"
    );
    let replicas = d["spec"]["replicas"].as_u64().expect("spec.replicas");
    assert!(replicas >= 2, "replicas: {replicas}, at least 2");
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as_u64(),
        Some(0),
        "a rollout must not take capacity away before a new pod is ready"
    );

    for s in kind(&docs, "Service") {
        let sel = labels(&s.value["spec"]["selector"]);
        assert!(
            selects(&sel, &pod),
            "{}: selector {sel:?} does not select the pods {pod:?}",
            s.file
        );
    }
    let pdbs = kind(&docs, "PodDisruptionBudget");
    assert_eq!(pdbs.len(), 1, "one PodDisruptionBudget");
    let pdb = &pdbs[0].value;
    assert_eq!(pdb["apiVersion"], "policy/v1");
    let sel = labels(&pdb["spec"]["selector"]["matchLabels"]);
    assert!(selects(&sel, &pod), "PDB selector {sel:?}");
    let allowed_down = pdb["spec"]["maxUnavailable"]
        .as_u64()
        .or_else(|| {
            pdb["spec"]["minAvailable"]
                .as_u64()
                .map(|m| replicas.saturating_sub(m))
        })
        .expect("PDB maxUnavailable or minAvailable (a number)");
    assert!(
        allowed_down >= 1 && allowed_down < replicas,
        "the PDB must let a drain proceed and keep one replica: {allowed_down} of {replicas}"
    );

    let hpas = kind(&docs, "HorizontalPodAutoscaler");
    assert_eq!(hpas.len(), 1, "one HorizontalPodAutoscaler");
    let h = &hpas[0].value;
    assert_eq!(h["apiVersion"], "autoscaling/v2");
    assert_eq!(h["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(h["spec"]["scaleTargetRef"]["name"], d["metadata"]["name"]);
    let min = h["spec"]["minReplicas"].as_u64().expect("minReplicas");
    assert!(
        min >= replicas && h["spec"]["maxReplicas"].as_u64().unwrap() > min,
        "HPA bounds"
    );
    let cpu = h["spec"]["metrics"].as_array().unwrap().iter().any(|m| {
        m["type"] == "Resource"
            && m["resource"]["name"] == "cpu"
            && m["resource"]["target"]["type"] == "Utilization"
    });
    assert!(cpu, "the HPA scales on CPU utilization");
    let c = container(d);
    assert!(
        c["resources"]["requests"]["cpu"].is_string(),
        "a CPU request (the HPA's utilization is relative to it)"
    );
}

#[test]
fn the_pod_shuts_down_within_its_grace_period() {
    let help = serve_help();
    let docs = manifests();
    let d = base_deployment(&docs);
    let env = env(container(d));
    let grace_period = d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let timeout: u64 = env_str(&env, "HOTLINE_SHUTDOWN_TIMEOUT")
        .parse()
        .expect("HOTLINE_SHUTDOWN_TIMEOUT is seconds");
    assert!(
        help.envs.contains("HOTLINE_SHUTDOWN_TIMEOUT"),
        "this binary has no HOTLINE_SHUTDOWN_TIMEOUT: the Deployment relies on it to bound the drain"
    );
    let grace_ms: u64 = env
        .get("HOTLINE_SHUTDOWN_GRACE_MS")
        .map(|_| env_str(&env, "HOTLINE_SHUTDOWN_GRACE_MS").parse().unwrap())
        .unwrap_or(500);
    let drain = timeout * 1000 + grace_ms;
    assert!(
        grace_period * 1000 > drain,
        "terminationGracePeriodSeconds {grace_period} must exceed the drain: {grace_ms} ms grace + {timeout} s shutdown timeout"
    );
}

#[test]
fn the_pod_runs_unprivileged_on_a_read_only_root() {
    let docs = manifests();
    let d = base_deployment(&docs);
    let pod = &d["spec"]["template"]["spec"];
    let c = container(d);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(
        pod["securityContext"]["runAsUser"]
            .as_u64()
            .is_some_and(|u| u > 0),
        "pod runAsUser"
    );
    assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(
        c["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(
        pod["enableServiceLinks"], false,
        "Service links would inject HOTLINE_ROUTER_* variables"
    );
    let limit = c["resources"]["limits"]["memory"]
        .as_str()
        .expect("a memory limit");
    let request = c["resources"]["requests"]["memory"]
        .as_str()
        .expect("a memory request");
    // Measured (BENCHMARKS.md §4 and §7): at most 104 MB serving with the decision store, 147 MB
    // at the peak of a hot reload; 2,000 stalled uploads add about 78 MB (§8).
    assert!(
        bytes(request) >= 104_000_000 && bytes(limit) >= 147_000_000 + 78_000_000,
        "memory {request} / {limit}"
    );

    let cf = containerfile();
    let user = cf.all("USER").last().copied().expect("Containerfile USER");
    let uid: u64 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("USER must be numeric (runAsNonRoot cannot check a name)");
    assert!(uid > 0, "USER {user}");
    assert_eq!(
        Some(uid),
        pod["securityContext"]["runAsUser"].as_u64(),
        "image USER vs pod runAsUser"
    );
}

#[test]
fn mounts_agree_with_the_paths_the_server_is_given() {
    let docs = manifests();
    let d = base_deployment(&docs);
    let c = container(d);
    let env = env(c);
    let volumes: BTreeMap<String, Value> = d["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v.clone()))
        .collect();
    let mounts: Vec<(String, String)> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["mountPath"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for m in c["volumeMounts"].as_array().unwrap() {
        assert!(
            m.get("subPath").is_none(),
            "a subPath mount never sees ConfigMap updates: {m}"
        );
        assert!(
            volumes.contains_key(m["name"].as_str().unwrap()),
            "mount of an undeclared volume {m}"
        );
    }

    // The rules: HOTLINE_RULES is the image's cluster rules directory, with one ConfigMap mounted
    // at each of its subdirectories top/ and departments/, and the two models linked in.
    let rules = env_str(&env, "HOTLINE_RULES");
    let configmaps: BTreeMap<String, &Value> = kind(&docs, "ConfigMap")
        .into_iter()
        .map(|d| {
            (
                d.value["metadata"]["name"].as_str().unwrap().to_owned(),
                &d.value,
            )
        })
        .collect();
    let mut rule_mounts = BTreeMap::new();
    for (name, path) in &mounts {
        if let Some(cm) = volumes[name]["configMap"]["name"].as_str() {
            assert!(
                configmaps.contains_key(cm),
                "volume {name} mounts ConfigMap {cm}, which no manifest defines"
            );
            let sub = path.strip_prefix(&format!("{rules}/")).unwrap_or_else(|| {
                panic!("ConfigMap {cm} is mounted at {path}, outside HOTLINE_RULES={rules}")
            });
            rule_mounts.insert(sub.to_owned(), cm.to_owned());
        }
    }
    assert_eq!(
        rule_mounts,
        BTreeMap::from([
            (
                "departments".to_owned(),
                "hotline-rules-departments".to_owned()
            ),
            ("top".to_owned(), "hotline-rules-top".to_owned()),
        ]),
        "rules mounts under {rules}"
    );
    let cf = containerfile();
    let run = cf.all("RUN").join(" ");
    for sub in ["top", "departments"] {
        assert!(
            run.contains(&format!("{rules}/{sub}")),
            "the Containerfile must create the mount point {rules}/{sub}"
        );
    }
    for model in ["classifier.model", "emergency.model"] {
        assert!(
            run.contains(&format!(
                "{}/{model} {rules}/{model}",
                cf.env()["HOTLINE_RULES"]
            )),
            "the Containerfile must link the bundled {model} into {rules}"
        );
    }

    // Writable places on a read-only root: the spool lives on the emptyDir.
    let spool = env_str(&env, "HOTLINE_SPOOL_DIR");
    let on_empty_dir = mounts
        .iter()
        .any(|(n, p)| volumes[n].get("emptyDir").is_some() && spool.starts_with(&format!("{p}/")));
    assert!(
        on_empty_dir,
        "HOTLINE_SPOOL_DIR={spool} must be under an emptyDir mount (the root is read-only)"
    );
    assert!(
        cf.all("WORKDIR")
            .last()
            .is_some_and(|w| mounts.iter().any(|(_, p)| p == w)),
        "the image's WORKDIR (default sqlite store) should be the writable mount"
    );

    // The store: a PostgreSQL URL from a Secret.
    let store = &env["HOTLINE_STORE"]["secretKeyRef"];
    let (secret, key) = (
        store["name"]
            .as_str()
            .expect("HOTLINE_STORE from secretKeyRef"),
        store["key"].as_str().unwrap(),
    );
    let s = kind(&docs, "Secret")
        .into_iter()
        .find(|d| d.value["metadata"]["name"] == secret)
        .unwrap_or_else(|| panic!("no Secret {secret}"));
    let url = s.value["stringData"][key]
        .as_str()
        .expect("the store Secret's key");
    assert!(
        url.starts_with("postgres://"),
        "several replicas share PostgreSQL, not SQLite: {url}"
    );

    // TLS (overlay): the three paths are keys of the kubernetes.io/tls Secret mounted at one place.
    let t = container(tls_patch(&docs));
    let tenv = self::env(t);
    let tmount = t["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tls")
        .expect("tls volume mount");
    let tpath = tmount["mountPath"].as_str().unwrap();
    let tvol = tls_patch(&docs)["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "tls")
        .expect("tls volume");
    let secret = tvol["secret"]["secretName"]
        .as_str()
        .expect("tls volume from a Secret");
    let s = kind(&docs, "Secret")
        .into_iter()
        .find(|d| d.value["metadata"]["name"] == secret)
        .unwrap_or_else(|| panic!("no Secret {secret}"));
    assert_eq!(s.value["type"], "kubernetes.io/tls");
    for (var, want) in [
        ("HOTLINE_TLS_CERT", "tls.crt"),
        ("HOTLINE_TLS_KEY", "tls.key"),
        ("HOTLINE_TLS_CLIENT_CA", "ca.crt"),
    ] {
        let p = env_str(&tenv, var);
        assert_eq!(p, format!("{tpath}/{want}"), "{var}");
        assert!(
            s.value["stringData"].get(want).is_some() || s.value["data"].get(want).is_some(),
            "Secret {secret} has no {want}"
        );
    }
    let mode = tvol["secret"]["defaultMode"].as_u64().expect("defaultMode");
    assert_eq!(
        mode & 0o007,
        0,
        "the key must not be world-readable (defaultMode {mode:o})"
    );
}

#[test]
fn kustomizations_list_every_manifest() {
    for dir in ["base", "tls"] {
        let k = kube_dir().join(dir).join("kustomization.yaml");
        let v: Value = serde_saphyr::from_str(&std::fs::read_to_string(&k).unwrap()).unwrap();
        let mut listed = BTreeSet::new();
        for r in v["resources"].as_array().into_iter().flatten().chain(
            v["patches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["path"]),
        ) {
            let r = r.as_str().unwrap();
            assert!(
                kube_dir().join(dir).join(r).exists(),
                "{dir}/kustomization.yaml lists {r}, which does not exist"
            );
            listed.insert(r.to_owned());
        }
        for e in std::fs::read_dir(kube_dir().join(dir)).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            if n.ends_with(".yaml") && n != "kustomization.yaml" {
                assert!(
                    listed.contains(&n),
                    "{dir}/{n} is not in {dir}/kustomization.yaml"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rules in the cluster.

/// The committed ConfigMaps' data: name → (key → content).
fn rules_configmaps() -> BTreeMap<String, BTreeMap<String, String>> {
    let docs = manifests();
    kind(&docs, "ConfigMap")
        .into_iter()
        .filter(|d| d.file == "base/rules-configmap.yaml")
        .map(|d| {
            let data = d.value["data"]
                .as_object()
                .expect("ConfigMap data")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (
                d.value["metadata"]["name"].as_str().unwrap().to_owned(),
                data,
            )
        })
        .collect()
}

fn dir_yaml(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_rules_configmaps_are_the_rules_directory_byte_for_byte() {
    let rules = root().join("rules");
    let cms = rules_configmaps();
    let subdirs: Vec<String> = std::fs::read_dir(&rules)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        subdirs,
        ["departments"],
        "rules/ has subdirectories the ConfigMaps do not carry"
    );
    let regenerate = "run deploy/kubernetes/rules-configmap.sh and commit deploy/kubernetes/base/rules-configmap.yaml";
    for (cm, dir) in [
        ("hotline-rules-top", rules.clone()),
        ("hotline-rules-departments", rules.join("departments")),
    ] {
        let data = cms
            .get(cm)
            .unwrap_or_else(|| panic!("no ConfigMap {cm}: {regenerate}"));
        let files = dir_yaml(&dir);
        let keys: Vec<_> = data.keys().collect();
        assert_eq!(
            keys,
            files.keys().collect::<Vec<_>>(),
            "{cm}: the files differ from {}: {regenerate}",
            dir.display()
        );
        for (name, content) in &files {
            assert!(
                data[name] == *content,
                "{cm}: {name} differs from {}/{name}: {regenerate}",
                dir.display()
            );
        }
        let size: usize = data.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(
            size < 1 << 20,
            "{cm} holds {size} bytes, over a ConfigMap's 1 MiB"
        );
    }
    // Why the classifier is in the image and not in a ConfigMap.
    let model = std::fs::metadata(rules.join("classifier.model"))
        .expect("rules/classifier.model")
        .len();
    assert!(
        model > 1 << 20,
        "classifier.model is {model} bytes: it would now fit in a ConfigMap; see deploy/README.md"
    );
}

/// Projects files into `vol` as the kubelet's atomic writer does: a hidden timestamped directory,
/// the `..data` link swapped to it by a rename, a visible link per key, the old directory removed.
fn kubelet_project(vol: &Path, files: &BTreeMap<String, String>, generation: u32) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(vol).unwrap();
    let ts = format!("..2026_12_02_00_00_00.{generation}");
    std::fs::create_dir(vol.join(&ts)).unwrap();
    for (k, v) in files {
        std::fs::write(vol.join(&ts).join(k), v).unwrap();
    }
    let old = std::fs::read_link(vol.join("..data")).ok();
    symlink(&ts, vol.join("..data_tmp")).unwrap();
    std::fs::rename(vol.join("..data_tmp"), vol.join("..data")).unwrap();
    for k in files.keys() {
        if std::fs::symlink_metadata(vol.join(k)).is_err() {
            symlink(format!("..data/{k}"), vol.join(k)).unwrap();
        }
    }
    // Links of keys that are gone.
    for e in std::fs::read_dir(vol).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        if !n.starts_with("..") && !files.contains_key(&n) {
            std::fs::remove_file(vol.join(&n)).unwrap();
        }
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(vol.join(old)).unwrap();
    }
}

/// The pod's rules directory, built as the image and the kubelet build it.
fn cluster_rules_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rules");
    std::fs::create_dir(&dir).unwrap();
    for model in ["classifier.model", "emergency.model"] {
        std::os::unix::fs::symlink(root().join("rules").join(model), dir.join(model)).unwrap();
    }
    let cms = rules_configmaps();
    kubelet_project(&dir.join("top"), &cms["hotline-rules-top"], 1);
    kubelet_project(
        &dir.join("departments"),
        &cms["hotline-rules-departments"],
        1,
    );
    (tmp, dir)
}

/// `check`'s summary ("210 rules (…), 43 departments, …"), without the version (the cluster's
/// file names, top/…, are part of it).
fn check_summary(dir: &Path) -> String {
    let out = Command::new(BIN)
        .args(["check", "--rules"])
        .arg(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "check --rules {} failed:\n{text}",
        dir.display()
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("ok: "))
        .unwrap_or_else(|| panic!("no \"ok:\" line:\n{text}"));
    line.split("; version").next().unwrap().to_owned()
}

#[test]
fn the_cluster_rules_directory_loads_the_same_rule_set_as_rules() {
    let (_tmp, dir) = cluster_rules_dir();
    assert_eq!(check_summary(&dir), check_summary(&root().join("rules")));
}

fn metrics(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("metrics connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

fn metric_line(body: &str, prefix: &str) -> String {
    body.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_default()
        .to_owned()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Reap(std::process::Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_configmap_update_is_reloaded_and_a_bad_one_refused() {
    let (_tmp, dir) = cluster_rules_dir();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--store",
            "none",
            "--watch",
            "true",
            "--rules",
        ])
        .arg(&dir)
        .env("HOTLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().unwrap();
    let _reap = Reap(child);
    let mut metrics_addr = String::new();
    let mut out = BufReader::new(stdout);
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server exited before listening"
        );
        if let Some(m) = line.trim().strip_prefix("metrics listening on ") {
            metrics_addr = m.to_owned();
        }
        if line.starts_with("listening on ") {
            break;
        }
    }
    // The watcher is running once the port is announced; the version metric is set just after.
    let mut version = String::new();
    wait_for(
        "the hotline_rules_info metric",
        Duration::from_secs(30),
        || {
            version = metric_line(&metrics(&metrics_addr), "hotline_rules_info");
            !version.is_empty()
        },
    );

    // An edit: the kubelet swaps ..data; the server reloads.
    let mut top = rules_configmaps()["hotline-rules-top"].clone();
    top.get_mut("synonyms.yaml")
        .expect("synonyms.yaml")
        .push_str("# edited in the ConfigMap\n");
    kubelet_project(&dir.join("top"), &top, 2);
    let mut edited = String::new();
    wait_for(
        "the reload after a ConfigMap swap",
        Duration::from_secs(60),
        || {
            let m = metrics(&metrics_addr);
            edited = metric_line(&m, "hotline_rules_info");
            !edited.is_empty()
                && edited != version
                && metric_line(&m, "hotline_rules_last_load_ok ") == "hotline_rules_last_load_ok 1"
        },
    );

    // A bad edit: refused, the edited set keeps serving.
    top.insert(
        "zz-broken.yaml".into(),
        "rules:\n  - id: broken\n    topc: x\n".into(),
    );
    kubelet_project(&dir.join("top"), &top, 3);
    wait_for("the refused reload", Duration::from_secs(60), || {
        metric_line(&metrics(&metrics_addr), "hotline_rules_last_load_ok ")
            == "hotline_rules_last_load_ok 0"
    });
    assert_eq!(
        metric_line(&metrics(&metrics_addr), "hotline_rules_info"),
        edited,
        "a bad edit must not replace the serving set"
    );

    // The rollback: the previous ConfigMap again.
    top.remove("zz-broken.yaml");
    kubelet_project(&dir.join("top"), &top, 4);
    wait_for(
        "the reload after the rollback",
        Duration::from_secs(60),
        || {
            metric_line(&metrics(&metrics_addr), "hotline_rules_last_load_ok ")
                == "hotline_rules_last_load_ok 1"
        },
    );
}

/// The server reads `*.yml` as rule files too; a ConfigMap that left them out would serve fewer
/// rules in the cluster than `check` counts, and say nothing.
#[test]
fn the_configmap_script_carries_yml_rule_files() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("departments")).unwrap();
    std::fs::write(rules.join("settings.yaml"), "settings:\n  threshold: 2\n").unwrap();
    std::fs::write(rules.join("departments/a.yaml"), "rules: []\n").unwrap();
    std::fs::write(rules.join("departments/b.yml"), "rules: []\n").unwrap();
    let out = Command::new("sh")
        .arg(root().join("deploy/kubernetes/rules-configmap.sh"))
        .arg(&rules)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    for key in ["  settings.yaml: |", "  a.yaml: |", "  b.yml: |"] {
        assert!(yaml.contains(key), "{key} missing:\n{yaml}");
    }
}
