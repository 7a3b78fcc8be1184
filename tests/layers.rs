//! The layers of ARCHITECTURE.md, checked on the source: which module may name which, and no
//! cycle of imports between files. A path is read from `use` lines and from paths in the code
//! (`crate::a::b`, `super::c`, `self::d`, or a child module's name), outside `#[cfg(test)]`
//! modules.
//!
//! The files of a module may use what their parent module defines (the trait they implement,
//! the context they are handed), as a parent dispatches to its children; every other import
//! goes one way, so a cycle through siblings or across modules fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file as a module path: `src/engine/stmt/run.rs` is `engine::stmt::run`.
type Module = Vec<String>;

struct Crate {
    /// Each file's module and text, tests left out.
    files: BTreeMap<Module, String>,
}

impl Crate {
    fn read(root: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path.file_stem().is_some_and(|s| s != "tests")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    files.insert(module_of(root, &path), without_tests(&text));
                }
            }
        }
        Crate { files }
    }

    /// The file a path names: the longest prefix of it that is a module.
    fn file_of(&self, path: &[String]) -> Option<&Module> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.files.get_key_value(&path[..n]).map(|(k, _)| k))
    }

    /// The files each file names.
    fn imports(&self) -> BTreeMap<&Module, BTreeSet<&Module>> {
        self.files
            .iter()
            .map(|(module, text)| {
                let named = paths_in(text)
                    .into_iter()
                    .filter_map(|path| self.absolute(module, path))
                    .filter_map(|path| self.file_of(&path))
                    .filter(|target| !module.starts_with(target))
                    .collect();
                (module, named)
            })
            .collect()
    }

    fn absolute(&self, module: &Module, path: Vec<String>) -> Option<Vec<String>> {
        let (head, rest) = path.split_first()?;
        let base: Vec<String> = match head.as_str() {
            "crate" => Vec::new(),
            "super" => module[..module.len().checked_sub(1)?].to_vec(),
            "self" => module.clone(),
            child => {
                let mut inner = module.clone();
                inner.push(child.to_owned());
                if !self.files.contains_key(&inner) {
                    return None;
                }
                return Some(inner.into_iter().chain(rest.iter().cloned()).collect());
            }
        };
        Some(base.into_iter().chain(rest.iter().cloned()).collect())
    }
}

fn module_of(root: &Path, path: &Path) -> Module {
    let relative: PathBuf = path.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Module = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The text before a file's inline `#[cfg(test)]` module: tests may reach anywhere.
fn without_tests(text: &str) -> String {
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// Every `a::b::c` path in the text, with each item of a `{...}` group as a path of its own.
fn paths_in(text: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = text.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word =
            is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':'));
        if !starts_word {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            path.push(chars[start..j].iter().collect::<String>());
            if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                j += 2;
                if chars.get(j) == Some(&'{') {
                    let end = chars[j..]
                        .iter()
                        .position(|&c| c == '}')
                        .map_or(chars.len(), |p| j + p);
                    let group: String = chars[j + 1..end].iter().collect();
                    for item in group.split(',') {
                        let item = item.split_whitespace().next().unwrap_or("");
                        if !item.is_empty() && item != "self" {
                            let mut full = path.clone();
                            full.extend(item.split("::").map(str::to_owned));
                            found.push(full);
                        }
                    }
                    j = end;
                    break;
                }
                if j < chars.len() && is_ident(chars[j]) {
                    continue;
                }
            }
            break;
        }
        if path.len() > 1 {
            found.push(path);
        }
        i = j.max(i + 1);
    }
    found
}

fn name(module: &Module) -> String {
    module.join("::")
}

fn source() -> Crate {
    Crate::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_file_imports_itself_through_others() {
    let krate = source();
    let imports = krate.imports();
    // Tarjan's strongly connected components: a component of more than one file is a cycle.
    struct Walk<'a> {
        imports: &'a BTreeMap<&'a Module, BTreeSet<&'a Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        cycles: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for &w in &self.imports[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|m| *m == v).unwrap();
                let component: Vec<String> = self.stack.drain(at..).map(name).collect();
                if component.len() > 1 {
                    self.cycles.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        imports: &imports,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        cycles: Vec::new(),
    };
    for module in imports.keys() {
        if !walk.index.contains_key(module) {
            walk.visit(module);
        }
    }
    assert!(walk.cycles.is_empty(), "import cycles: {:?}", walk.cycles);
}

/// The modules that `layer` names outside its own folder.
fn named_by(krate: &Crate, layer: &str) -> BTreeSet<String> {
    krate
        .imports()
        .into_iter()
        .filter(|(from, _)| from.first().map(String::as_str) == Some(layer))
        .flat_map(|(_, to)| to.into_iter().map(|m| m[0].clone()))
        .filter(|top| top != layer)
        .collect()
}

#[test]
fn each_layer_names_only_the_layers_below_it() {
    let krate = source();
    let allowed: &[(&str, &[&str])] = &[
        // The protocol serves any interpreter: it knows no playbook.
        ("jupyter", &["glob"]),
        ("ops", &["glob"]),
        ("model", &["ops"]),
        ("render", &["model", "ops"]),
        ("journal", &["ops"]),
        ("report", &["journal", "ops", "render"]),
        ("engine", &["journal", "model", "ops", "render"]),
    ];
    for (layer, may) in allowed {
        let extra: Vec<String> = named_by(&krate, layer)
            .into_iter()
            .filter(|m| !may.contains(&m.as_str()))
            .collect();
        assert!(extra.is_empty(), "`{layer}` names {extra:?}");
    }
}

#[test]
fn the_engine_knows_nothing_of_zeromq_or_notebooks() {
    let krate = source();
    for (module, text) in &krate.files {
        if module.first().map(String::as_str) == Some("engine") {
            for word in ["zeromq", "nbformat", "jupyter"] {
                assert!(
                    !text.contains(&format!("{word}::")),
                    "{} names {word}",
                    name(module)
                );
            }
        }
    }
}
