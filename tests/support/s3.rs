//! A loopback S3 server (PyPI's moto, installed into `.tools/venv` by scripts/install-deps.sh) for
//! snapshot repositories, with an S3 client (boto3) to check what Restate wrote, independently of
//! the provider.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http;
use super::restate::{assert_private_network, project_root, reserve_port};

pub const ACCESS_KEY: &str = "test-access-key";
pub const SECRET_KEY: &str = "test-secret-key";
pub const REGION: &str = "us-east-1";

pub struct S3 {
    pub ip: IpAddr,
    pub port: u16,
    /// The server, when this handle started it (not when it attached to one started elsewhere).
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl S3 {
    /// Starts the server on a free loopback port and creates `bucket`.
    pub fn start(bucket: &str) -> S3 {
        S3::start_at(IpAddr::V4(Ipv4Addr::LOCALHOST), bucket)
    }

    /// Like [`start`](Self::start), listening on `ip` (the fault suite's bridge address, which
    /// its test hosts reach).
    pub fn start_at(ip: IpAddr, bucket: &str) -> S3 {
        assert_private_network();
        let dir = tempfile::tempdir().expect("temp dir");
        let reserved = reserve_port();
        let bin = project_root().join(".tools/venv/bin/moto_server");
        assert!(bin.exists(), "{bin:?} missing: run scripts/install-deps.sh");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("log");
        let port = reserved.release();
        let child = Command::new(bin)
            .args(["-H", &ip.to_string(), "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start moto_server");
        let s3 = S3 {
            ip,
            port,
            child: Some(child),
            _dir: Some(dir),
        };
        let started = Instant::now();
        while http::request_at(ip, port, "PUT", &format!("/{bucket}"))
            .is_none_or(|(code, _)| code != 200)
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        s3
    }

    /// A handle on a server started elsewhere (by the migration example's terraform_data).
    pub fn attach(port: u16) -> S3 {
        S3 {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            child: None,
            _dir: None,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// Runs boto3 (an S3 client independent of Restate and of the provider) with `s3` bound.
    fn boto3(&self, code: &str) -> std::process::Output {
        let script = format!(
            "import boto3, json, sys\ns3 = boto3.client('s3', endpoint_url='{}', region_name='{REGION}', \
             aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\n{code}\n",
            self.endpoint()
        );
        Command::new(project_root().join(".tools/venv/bin/python"))
            .args(["-c", &script])
            .output()
            .expect("run boto3")
    }

    /// An object's body, None when it does not exist.
    pub fn get(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self.boto3(&format!(
            "try:\n    sys.stdout.write(s3.get_object(Bucket='{bucket}', Key='{key}')['Body'].read().decode())\n\
             except s3.exceptions.NoSuchKey:\n    sys.exit(3)"
        ));
        match out.status.code() {
            Some(0) => Some(String::from_utf8_lossy(&out.stdout).to_string()),
            Some(3) => None,
            _ => panic!(
                "boto3 get_object failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Keys under a prefix.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let out = self.boto3(&format!(
            "p = s3.get_paginator('list_objects_v2')\nfor page in p.paginate(Bucket='{bucket}', Prefix='{prefix}'):\n    \
             for o in page.get('Contents', []):\n        print(o['Key'])"
        ));
        assert!(
            out.status.success(),
            "boto3 list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Deletes every object under a prefix.
    pub fn delete_prefix(&self, bucket: &str, prefix: &str) {
        for key in self.list(bucket, prefix) {
            let out = self.boto3(&format!("s3.delete_object(Bucket='{bucket}', Key='{key}')"));
            assert!(
                out.status.success(),
                "boto3 delete_object failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(self.list(bucket, prefix), Vec::<String>::new());
    }

    /// Copies every object under `from` to the same key under `to` (prefixes end with `/`).
    pub fn copy_prefix(&self, bucket: &str, from: &str, to: &str) {
        let keys = self.list(bucket, from);
        assert!(!keys.is_empty(), "nothing under {from}");
        for key in keys {
            let target = format!("{to}{}", &key[from.len()..]);
            let out = self.boto3(&format!(
                "s3.copy_object(Bucket='{bucket}', Key='{target}', CopySource={{'Bucket': '{bucket}', 'Key': '{key}'}})"
            ));
            assert!(
                out.status.success(),
                "boto3 copy_object failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// The `[worker.snapshots]` lines for a node using this server.
    pub fn snapshots_toml(&self, bucket: &str, prefix: &str) -> String {
        self.snapshots_toml_via(&self.endpoint(), bucket, prefix)
    }

    /// The same, reaching this server through `endpoint` (a relay in front of it).
    pub fn snapshots_toml_via(&self, endpoint: &str, bucket: &str, prefix: &str) -> String {
        format!(
            "\n[worker.snapshots]\ndestination = \"s3://{bucket}/{prefix}\"\naws-endpoint-url = \"{endpoint}\"\naws-allow-http = true\naws-region = \"{REGION}\"\naws-access-key-id = \"{ACCESS_KEY}\"\naws-secret-access-key = \"{SECRET_KEY}\"\n"
        )
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
