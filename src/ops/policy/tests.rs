//! The policy's specification: `verdicts.txt`, a table of command lines and what becomes of
//! them under a few policies.

use super::{Judgement, Policy, PolicyError};
use std::path::Path;

/// The policies the table names in its `[section]` headers.
fn policy(name: &str) -> Policy {
    let text = match name {
        "default" => "",
        "allow" => r#"allow = ["kubectl get *", "echo *", "df", "cat *", "python3 /opt/tools/*"]"#,
        "deny" => r#"deny = ["kubectl delete namespace *", "touch *", "helm uninstall *"]"#,
        "permissive" => "allow = [\"*\"]\nmutating = []",
        "interpreters" => r#"allow = ["bash -c *", "kubectl get *"]"#,
        other => panic!("the table names an unknown policy `{other}`"),
    };
    Policy::parse(text, "policy.toml").unwrap()
}

#[test]
fn the_table_of_verdicts() {
    let table = include_str!("verdicts.txt");
    let mut current = None;
    let (mut checked, mut wrong) = (0, Vec::new());
    for (n, line) in table.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(policy(name));
            continue;
        }
        let mut fields = line.splitn(3, '|').map(str::trim);
        let (Some(verdict), Some(reason), Some(command)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("line {}: write VERDICT | REASON | COMMAND", n + 1);
        };
        let policy = current.as_ref().expect("a [policy] header comes first");
        let judgement = policy.judge(command, &[], None);
        let (got, why) = match &judgement {
            Judgement::Allowed => ("runs", ""),
            Judgement::NeedsConsent(why) => ("consent", why.as_str()),
            Judgement::Denied(why) => ("denied", why.as_str()),
        };
        checked += 1;
        if got != verdict.trim() || !why.contains(reason.trim()) {
            wrong.push(format!(
                "line {}: `{command}`: expected {} ({}), got {got}: {why}",
                n + 1,
                verdict.trim(),
                reason.trim()
            ));
        }
    }
    assert!(
        checked >= 150,
        "the table holds only {checked} command lines"
    );
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn here_documents_are_read() {
    let default = Policy::default();
    assert_eq!(
        default.judge("cat <<EOF\nhello $USER\nEOF", &[], None),
        Judgement::Allowed
    );
    assert!(matches!(
        default.judge("cat <<EOF\n$(rm F)\nEOF", &[], None),
        Judgement::NeedsConsent(why) if why.contains("inside `$(...)` inside a here-document")
    ));
    assert_eq!(
        default.judge("cat <<'EOF'\n$(rm F)\nEOF", &[], None),
        Judgement::Allowed
    );
}

#[test]
fn env_and_cwd_are_judged() {
    let env = |name: &str| vec![(name.to_owned(), "/tmp/evil:/usr/bin".to_owned())];
    let default = Policy::default();
    assert!(matches!(
        default.judge("df", &env("PATH"), None),
        Judgement::NeedsConsent(why) if why.contains("`PATH` (--env)")
    ));
    assert_eq!(
        default.judge("df", &env("KUBECONFIG"), None),
        Judgement::Allowed
    );
    assert!(matches!(
        policy("allow").judge("df", &env("LD_PRELOAD"), None),
        Judgement::Denied(_)
    ));
    assert!(matches!(
        default.judge("rm -rf *", &[], Some(Path::new("/"))),
        Judgement::Denied(why) if why.contains("never runs")
    ));
    assert!(matches!(
        default.judge("rm -rf *", &[], Some(Path::new("/tmp/x"))),
        Judgement::NeedsConsent(_)
    ));
}

#[test]
fn a_policy_file_must_be_a_readable_regular_file() {
    let dir = std::env::temp_dir().join(format!("playbook-policy-{}", std::process::id()));
    let beside = dir.join(".playbook");
    std::fs::create_dir_all(&beside).unwrap();
    let path = beside.join("policy.toml");
    assert!(
        Policy::find(&dir).is_ok(),
        "no file at all is the default policy"
    );

    std::os::unix::fs::symlink(dir.join("nowhere.toml"), &path).unwrap();
    assert!(matches!(Policy::find(&dir), Err(PolicyError::Read { .. })));
    std::fs::remove_file(&path).unwrap();

    std::fs::create_dir(&path).unwrap();
    let error = Policy::find(&dir).unwrap_err();
    assert!(matches!(error, PolicyError::NotAFile { .. }), "{error:?}");
    assert!(error.to_string().contains("not a regular file"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();

    let broken = Policy::parse("alow = []", "p.toml").unwrap_err();
    assert!(
        matches!(&broken, PolicyError::Invalid { origin, .. } if origin == "p.toml"),
        "{broken:?}"
    );
}
