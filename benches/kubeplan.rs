//! Load + plan throughput on generated apps; prints figures, asserts nothing about speed.
//!
//! `cargo bench --bench kubeplan` (or run the built binary). Each app has N Deployments (one
//! ConfigMap env source, a Secret key, a ConfigMap volume, a PVC, a probe, a published port) and
//! a Service per Deployment: the shape of real multi-service YAML.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use quadplay::kube;
use quadplay::play::plan::{plan, PlanOptions};

fn app(n: usize) -> String {
    let mut y = String::new();
    for i in 0..n {
        let _ = write!(
            y,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg-{i}}}\ndata: {{MODE: prod, index.html: hello}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: sec-{i}}}\nstringData: {{token: t{i}}}\n---\n\
             apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data-{i}}}\nspec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\nspec: {{selector: {{app: app-{i}}}, ports: [{{port: 80}}]}}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}}}\nspec:\n  selector: {{matchLabels: {{app: app-{i}}}}}\n  template:\n    metadata: {{labels: {{app: app-{i}}}}}\n    spec:\n      volumes:\n      - {{name: www, configMap: {{name: cfg-{i}}}}}\n      - {{name: data, persistentVolumeClaim: {{claimName: data-{i}}}}}\n      containers:\n      - name: web\n        image: localhost/busybox:latest\n        command: [httpd, -f, -p, '80', -h, /www]\n        envFrom: [{{configMapRef: {{name: cfg-{i}}}}}]\n        env:\n        - {{name: TOKEN, valueFrom: {{secretKeyRef: {{name: sec-{i}, key: token}}}}}}\n        - {{name: URL, value: 'http://svc-{i}/$(MODE)'}}\n        ports: [{{containerPort: 80, hostPort: {port}}}]\n        volumeMounts: [{{name: www, mountPath: /www}}, {{name: data, mountPath: /data}}]\n        readinessProbe: {{tcpSocket: {{port: 80}}}}\n        resources: {{limits: {{memory: 64Mi, cpu: 250m}}}}\n      - name: sidecar\n        image: localhost/busybox:latest\n        command: [sleep, infinity]\n---\n",
            port = 20000 + i
        );
    }
    y
}

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tempdir: {e}");
            std::process::exit(1);
        }
    };
    let opts = PlanOptions {
        unit: Some("bench.service".into()),
        runtime_dir: PathBuf::from("/run/user/1000/quadplay/bench.service"),
        ..PlanOptions::default()
    };
    println!(
        "{:>6} {:>9} {:>8} {:>12} {:>12}",
        "pods", "yaml KiB", "runs", "load µs/run", "plan µs/run"
    );
    for n in [1usize, 12, 100, 500] {
        let path = dir.path().join(format!("app-{n}.yaml"));
        let text = app(n);
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("write: {e}");
            std::process::exit(1);
        }
        let runs = (2000 / n).max(5);
        let mut load_ns = 0u128;
        let mut plan_ns = 0u128;
        for _ in 0..runs {
            let t = Instant::now();
            let docs = match kube::load(std::slice::from_ref(&path), &[]) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("load: {e}");
                    std::process::exit(1);
                }
            };
            load_ns += t.elapsed().as_nanos();
            let t = Instant::now();
            let p = match plan(&docs, &opts) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("plan: {e}");
                    std::process::exit(1);
                }
            };
            plan_ns += t.elapsed().as_nanos();
            assert_eq!(p.pods.len(), n);
        }
        println!(
            "{:>6} {:>9.1} {:>8} {:>12.1} {:>12.1}",
            n,
            text.len() as f64 / 1024.0,
            runs,
            load_ns as f64 / runs as f64 / 1000.0,
            plan_ns as f64 / runs as f64 / 1000.0
        );
    }
}
