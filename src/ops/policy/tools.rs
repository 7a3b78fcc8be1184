//! The grammars of the tools whose subcommands decide what they do: `kubectl --context x delete
//! ns/prod` is read as `kubectl delete namespace prod --context x`, so that rules are written
//! once, against that form.

/// How a tool's command line is laid out.
struct Tool {
    name: &'static str,
    /// Options that take the next word as their value (as `--name value`; `--name=value` and
    /// `-nvalue` are read without the table).
    takes_value: &'static [&'static str],
    /// Whether options may come anywhere (kubectl, helm, aws...) or only before the
    /// subcommand (git, docker, terraform), after which the words belong to the subcommand.
    anywhere: bool,
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "kubectl",
        takes_value: &[
            "-n",
            "--namespace",
            "--context",
            "--cluster",
            "--user",
            "--kubeconfig",
            "-s",
            "--server",
            "--token",
            "--as",
            "--as-group",
            "--as-uid",
            "--cache-dir",
            "--certificate-authority",
            "--client-certificate",
            "--client-key",
            "--request-timeout",
            "--tls-server-name",
            "-v",
            "--v",
            "--vmodule",
            "--profile",
            "--profile-output",
            "--password",
            "--username",
            "-o",
            "--output",
            "-l",
            "--selector",
            "-f",
            "--filename",
            "-c",
            "--container",
            "--field-selector",
            "-L",
            "--label-columns",
            "--sort-by",
            "--template",
            "-k",
            "--kustomize",
            "--type",
            "-p",
            "--patch",
            "--replicas",
            "--grace-period",
            "--timeout",
            "--since",
            "--tail",
            "--for",
            "--image",
            "--port",
            "--chunk-size",
            "--subresource",
        ],
        anywhere: true,
    },
    Tool {
        name: "helm",
        takes_value: &[
            "-n",
            "--namespace",
            "--kube-context",
            "--kubeconfig",
            "--kube-apiserver",
            "--kube-as-user",
            "--kube-as-group",
            "--kube-ca-file",
            "--kube-token",
            "--registry-config",
            "--repository-config",
            "--repository-cache",
            "--burst-limit",
            "--version",
            "-f",
            "--values",
            "--set",
            "--set-string",
            "--set-file",
            "--set-json",
            "--timeout",
            "-o",
            "--output",
            "--repo",
            "--description",
            "--history-max",
            "--post-renderer",
            "-l",
            "--selector",
        ],
        anywhere: true,
    },
    Tool {
        name: "systemctl",
        takes_value: &[
            "-t",
            "--type",
            "-s",
            "--signal",
            "-p",
            "--property",
            "-H",
            "--host",
            "-M",
            "--machine",
            "--root",
            "--kill-whom",
            "--kill-who",
            "-n",
            "--lines",
            "-o",
            "--output",
            "--job-mode",
            "--state",
            "--what",
            "--image",
            "--timestamp",
        ],
        anywhere: true,
    },
    Tool {
        name: "aws",
        takes_value: &[
            "--profile",
            "--region",
            "--output",
            "--endpoint-url",
            "--query",
            "--color",
            "--cli-read-timeout",
            "--cli-connect-timeout",
            "--ca-bundle",
            "--cli-binary-format",
        ],
        anywhere: true,
    },
    Tool {
        name: "gcloud",
        takes_value: &[
            "--project",
            "--account",
            "--configuration",
            "--format",
            "--verbosity",
            "--zone",
            "--region",
            "--impersonate-service-account",
            "--billing-project",
            "--flags-file",
            "--filter",
            "--limit",
        ],
        anywhere: true,
    },
    Tool {
        name: "git",
        takes_value: &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--config-env",
            "--exec-path",
            "--super-prefix",
        ],
        anywhere: false,
    },
    Tool {
        name: "docker",
        takes_value: &[
            "-H",
            "--host",
            "-c",
            "--context",
            "--config",
            "-l",
            "--log-level",
            "--tlscacert",
            "--tlscert",
            "--tlskey",
        ],
        anywhere: false,
    },
    Tool {
        name: "terraform",
        takes_value: &[],
        anywhere: false,
    },
];

/// kubectl's short names and plurals of resources, and what they stand for.
const KUBECTL_RESOURCES: &[(&str, &str)] = &[
    ("ns", "namespace"),
    ("po", "pod"),
    ("deploy", "deployment"),
    ("svc", "service"),
    ("rs", "replicaset"),
    ("sts", "statefulset"),
    ("ds", "daemonset"),
    ("cm", "configmap"),
    ("no", "node"),
    ("pv", "persistentvolume"),
    ("pvc", "persistentvolumeclaim"),
    ("ing", "ingress"),
    ("ingresses", "ingress"),
    ("cj", "cronjob"),
    ("sa", "serviceaccount"),
    ("crd", "customresourcedefinition"),
    ("crds", "customresourcedefinition"),
    ("netpol", "networkpolicy"),
    ("networkpolicies", "networkpolicy"),
    ("hpa", "horizontalpodautoscaler"),
    ("pdb", "poddisruptionbudget"),
    ("ep", "endpoints"),
    ("quota", "resourcequota"),
    ("sc", "storageclass"),
    ("rc", "replicationcontroller"),
];

/// A command's words in the form rules match: for the tools above, the tool, then its
/// subcommand and operands, then its options; other commands as they are.
pub fn normalize(words: Vec<String>) -> Vec<String> {
    let Some(tool) = TOOLS.iter().find(|t| t.name == words[0]) else {
        return words;
    };
    let mut operands = vec![words[0].clone()];
    let mut options = Vec::new();
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            // kubectl exec POD -- CMD: what follows is another command's, kept in order.
            operands.push(word.clone());
            operands.extend(rest.by_ref().cloned());
            break;
        }
        let before_subcommand = operands.len() == 1;
        if !word.starts_with('-') || word.len() < 2 || !(tool.anywhere || before_subcommand) {
            operands.push(word.clone());
            continue;
        }
        options.push(word.clone());
        if tool.takes_value.contains(&word.as_str()) {
            options.extend(rest.next().cloned());
        }
    }
    if tool.name == "kubectl" {
        operands = kubectl_resources(operands);
    }
    operands.extend(options);
    operands
}

/// `kubectl delete ns prod`, `kubectl delete namespace/prod`, `kubectl delete Namespaces.v1
/// prod`: each reads `kubectl delete namespace prod`.
fn kubectl_resources(operands: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(operands.len() + 1);
    // `kubectl rollout restart deploy/x`: the resource comes after the second word.
    let resource_at = if operands.get(1).is_some_and(|w| w == "rollout") {
        3
    } else {
        2
    };
    let mut words = operands.into_iter().enumerate();
    while let Some((i, word)) = words.next() {
        if word == "--" {
            out.push(word);
            out.extend(words.map(|(_, w)| w));
            break;
        }
        let (kind, name) = match word.split_once('/') {
            Some((kind, name)) if i >= resource_at && !kind.is_empty() => {
                (kind.to_owned(), Some(name.to_owned()))
            }
            _ if i == resource_at => (word, None),
            _ => {
                out.push(word);
                continue;
            }
        };
        out.push(kubectl_kind(&kind));
        out.extend(name);
    }
    out
}

fn kubectl_kind(kind: &str) -> String {
    let kind = kind.to_lowercase();
    let kind = kind.split('.').next().unwrap_or_default();
    if let Some((_, full)) = KUBECTL_RESOURCES.iter().find(|(short, _)| *short == kind) {
        return (*full).to_owned();
    }
    let singular = kind
        .strip_suffix("ies")
        .map(|stem| format!("{stem}y"))
        .or_else(|| {
            kind.strip_suffix('s')
                .filter(|_| !kind.ends_with("ss") && kind != "endpoints")
                .map(str::to_owned)
        });
    singular.unwrap_or_else(|| kind.to_owned())
}
