//! A command line as the shell reads it: every simple command it may run, wherever it sits in
//! the syntax tree (lists, pipelines, compound commands, function bodies, command and process
//! substitutions, here-documents), with its words after quote removal.
//!
//! Commands run under `sh -c`, so the line is parsed as `sh` reads it: no bash extensions, no
//! extended globs. Forms that `sh` and the parser could read differently (`$'...'`, `$"..."`)
//! are refused rather than guessed at.

use brush_parser::ast;
use brush_parser::word::{self, ParameterExpr, WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions};

/// Substitutions nested deeper than this are not followed: the line is refused instead.
const MAX_DEPTH: usize = 16;

/// One word of a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    /// After quote removal; an expansion (`$HOME`, `~`, `$(...)`) kept as written.
    pub text: String,
    /// Whether the text is exactly what the command receives: no expansion in it.
    pub literal: bool,
}

/// A simple command, or the redirections of a compound one (then `words` is empty).
#[derive(Debug, Clone, Default)]
pub struct Simple {
    /// Names assigned before the command (`NAME=value cmd`, or alone: `NAME=value`).
    pub assigns: Vec<String>,
    pub words: Vec<Word>,
    /// Files its output redirections write to (`> F`, `>> F`, `<> F`, `&> F`, `>& F`).
    pub writes: Vec<Word>,
    /// The substitutions it sits in, outermost first (`$(...)`, `` `...` ``, a here-document).
    pub inside: Vec<&'static str>,
    /// The function whose body holds it, if any.
    pub function: Option<String>,
}

/// Why a line was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed(pub String);

fn options() -> ParserOptions {
    ParserOptions {
        sh_mode: true,
        enable_extended_globbing: false,
        ..ParserOptions::default()
    }
}

/// Every simple command of `line`, in the order the shell meets them.
pub fn commands(line: &str) -> Result<Vec<Simple>, Unparsed> {
    let mut walker = Walker::new();
    walker.program(line);
    match walker.failure {
        Some(why) => Err(Unparsed(why)),
        None => Ok(walker.found),
    }
}

struct Walker {
    options: ParserOptions,
    found: Vec<Simple>,
    inside: Vec<&'static str>,
    function: Option<String>,
    /// The first thing not understood; the line is refused once it is set.
    failure: Option<String>,
}

impl Walker {
    fn new() -> Walker {
        Walker {
            options: options(),
            found: Vec::new(),
            inside: Vec::new(),
            function: None,
            failure: None,
        }
    }

    fn fail(&mut self, why: String) {
        self.failure.get_or_insert(why);
    }

    fn program(&mut self, text: &str) {
        let parsed =
            Parser::new(std::io::Cursor::new(text.as_bytes()), &self.options).parse_program();
        match parsed {
            Ok(program) => {
                for list in &program.complete_commands {
                    self.list(list);
                }
            }
            Err(why) => self.fail(format!("the shell cannot parse it ({why})")),
        }
    }

    /// Walks code nested in a substitution of kind `what`.
    fn nested(&mut self, text: &str, what: &'static str) {
        if self.inside.len() >= MAX_DEPTH {
            return self.fail(format!("substitutions are nested over {MAX_DEPTH} deep"));
        }
        self.inside.push(what);
        self.program(text);
        self.inside.pop();
    }

    fn list(&mut self, list: &ast::CompoundList) {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            self.pipeline(&and_or.first);
            for next in &and_or.additional {
                let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                self.pipeline(p);
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) {
        for command in &pipeline.seq {
            self.command(command);
        }
    }

    fn command(&mut self, command: &ast::Command) {
        match command {
            ast::Command::Simple(simple) => self.simple(simple),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound);
                self.redirects(redirects.iter().flat_map(|r| &r.0));
            }
            ast::Command::Function(function) => {
                let outer = self.function.replace(function.fname.value.clone());
                self.compound(&function.body.0);
                self.redirects(function.body.1.iter().flat_map(|r| &r.0));
                self.function = outer;
            }
            ast::Command::ExtendedTest(..) => self.fail("`[[` is not `sh` syntax".into()),
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand) {
        use ast::CompoundCommand as C;
        match compound {
            C::Arithmetic(a) => self.arithmetic(&a.expr.value),
            C::ArithmeticForClause(f) => {
                for expr in [&f.initializer, &f.condition, &f.updater]
                    .into_iter()
                    .flatten()
                {
                    self.arithmetic(&expr.value);
                }
                self.list(&f.body.list);
            }
            C::BraceGroup(g) => self.list(&g.list),
            C::Subshell(s) => self.list(&s.list),
            C::ForClause(f) => {
                for value in f.values.iter().flatten() {
                    self.word(value);
                }
                self.list(&f.body.list);
            }
            C::CaseClause(c) => {
                self.word(&c.value);
                for item in &c.cases {
                    for pattern in &item.patterns {
                        self.word(pattern);
                    }
                    if let Some(body) = &item.cmd {
                        self.list(body);
                    }
                }
            }
            C::IfClause(i) => {
                self.list(&i.condition);
                self.list(&i.then);
                for clause in i.elses.iter().flatten() {
                    if let Some(condition) = &clause.condition {
                        self.list(condition);
                    }
                    self.list(&clause.body);
                }
            }
            C::WhileClause(w) | C::UntilClause(w) => {
                self.list(&w.0);
                self.list(&w.1.list);
            }
            C::Coprocess(c) => self.command(&c.body),
        }
    }

    fn simple(&mut self, command: &ast::SimpleCommand) {
        let mut simple = Simple::default();
        let items = command.prefix.iter().flat_map(|p| &p.0);
        for item in items {
            match item {
                ast::CommandPrefixOrSuffixItem::AssignmentWord(assignment, _) => {
                    simple.assigns.push(match &assignment.name {
                        ast::AssignmentName::VariableName(name)
                        | ast::AssignmentName::ArrayElementName(name, _) => name.clone(),
                    });
                    match &assignment.value {
                        ast::AssignmentValue::Scalar(value) => {
                            self.word(value);
                        }
                        ast::AssignmentValue::Array(values) => {
                            for (key, value) in values {
                                if let Some(key) = key {
                                    self.word(key);
                                }
                                self.word(value);
                            }
                        }
                    }
                }
                other => self.item(other, &mut simple),
            }
        }
        if let Some(name) = &command.word_or_name {
            let name = self.word(name);
            simple.words.push(name);
        }
        for item in command.suffix.iter().flat_map(|s| &s.0) {
            self.item(item, &mut simple);
        }
        self.push(simple);
    }

    fn push(&mut self, mut simple: Simple) {
        simple.inside = self.inside.clone();
        simple.function = self.function.clone();
        self.found.push(simple);
    }

    fn item(&mut self, item: &ast::CommandPrefixOrSuffixItem, simple: &mut Simple) {
        match item {
            ast::CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                if let Some(target) = self.redirect(redirect) {
                    simple.writes.push(target);
                }
            }
            ast::CommandPrefixOrSuffixItem::Word(w)
            | ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                let word = self.word(w);
                simple.words.push(word);
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(..) => {
                self.fail("process substitution is not `sh` syntax".into())
            }
        }
    }

    /// Pushes the redirections of a compound command as a command of their own.
    fn redirects<'a>(&mut self, redirects: impl Iterator<Item = &'a ast::IoRedirect>) {
        let writes: Vec<Word> = redirects.filter_map(|r| self.redirect(r)).collect();
        if !writes.is_empty() {
            self.push(Simple {
                writes,
                ..Simple::default()
            });
        }
    }

    /// The file a redirection writes to, if it writes one; substitutions in it are walked.
    fn redirect(&mut self, redirect: &ast::IoRedirect) -> Option<Word> {
        use ast::IoFileRedirectKind as K;
        use ast::IoFileRedirectTarget as T;
        match redirect {
            ast::IoRedirect::File(_, kind, target) => {
                let word = match target {
                    T::Filename(w) | T::Duplicate(w) => self.word(w),
                    T::Fd(_) => return None,
                    T::ProcessSubstitution(..) => {
                        self.fail("process substitution is not `sh` syntax".into());
                        return None;
                    }
                };
                let duplicates_a_descriptor =
                    word.literal && (word.text == "-" || word.text.parse::<u32>().is_ok());
                match kind {
                    K::Write | K::Append | K::Clobber | K::ReadAndWrite => Some(word),
                    K::DuplicateOutput if !duplicates_a_descriptor => Some(word),
                    _ => None,
                }
            }
            ast::IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion {
                    match word::parse_heredoc(&doc.doc.value, &self.options) {
                        Ok(pieces) => self.inside_pieces(&pieces, "a here-document"),
                        Err(why) => self.fail(format!("cannot read a here-document ({why})")),
                    }
                }
                None
            }
            ast::IoRedirect::HereString(_, w) => {
                self.word(w);
                None
            }
            ast::IoRedirect::OutputAndError(w, _) => Some(self.word(w)),
        }
    }

    /// Walks the substitutions in a here-document's pieces, marking where they sit.
    fn inside_pieces(&mut self, pieces: &[WordPieceWithSource], what: &'static str) {
        self.inside.push(what);
        self.pieces(pieces, "", &mut Word::default());
        self.inside.pop();
    }

    /// An arithmetic expression: only its substitutions run commands.
    fn arithmetic(&mut self, expr: &str) {
        match word::parse_heredoc(expr, &self.options) {
            Ok(pieces) => self.pieces(&pieces, expr, &mut Word::default()),
            Err(why) => self.fail(format!("cannot read `$(({expr}))` ({why})")),
        }
    }

    /// The word after quote removal; the commands of its substitutions are walked.
    fn word(&mut self, w: &ast::Word) -> Word {
        // Most words hold no quote, escape or expansion: they are their own text, and the word
        // parser (a grammar behind a global cache) would only say so, at a cost per word.
        if !w.value.contains(['$', '`', '\\', '\'', '"', '~']) {
            return Word {
                text: w.value.clone(),
                literal: true,
            };
        }
        let mut word = Word {
            text: String::new(),
            literal: true,
        };
        match word::parse(&w.value, &self.options) {
            Ok(pieces) => self.pieces(&pieces, &w.value, &mut word),
            Err(why) => {
                self.fail(format!("cannot read the word `{}` ({why})", w.value));
                word.text.clone_from(&w.value);
                word.literal = false;
            }
        }
        word
    }

    fn pieces(&mut self, pieces: &[WordPieceWithSource], source: &str, word: &mut Word) {
        for piece in pieces {
            let written = source
                .get(piece.start_index..piece.end_index)
                .unwrap_or_default();
            let expansion = |word: &mut Word| {
                word.text.push_str(written);
                word.literal = false;
            };
            match &piece.piece {
                WordPiece::Text(text) | WordPiece::SingleQuotedText(text) => {
                    word.text.push_str(text)
                }
                WordPiece::EscapeSequence(escaped) => word.text.push_str(&escaped[1..]),
                WordPiece::DoubleQuotedSequence(inner) => self.pieces(inner, source, word),
                WordPiece::AnsiCQuotedText(_) | WordPiece::GettextDoubleQuotedSequence(_) => {
                    self.fail(format!(
                        "`sh` reads `{written}` differently from bash: write it with plain quotes"
                    ));
                    expansion(word);
                }
                WordPiece::TildeExpansion(_) => expansion(word),
                WordPiece::ParameterExpansion(expr) => {
                    for inner in parameter_words(expr) {
                        match word::parse(inner, &self.options) {
                            Ok(inner_pieces) => {
                                self.pieces(&inner_pieces, inner, &mut Word::default())
                            }
                            Err(why) => self.fail(format!("cannot read `{written}` ({why})")),
                        }
                    }
                    expansion(word);
                }
                WordPiece::CommandSubstitution(code) => {
                    self.nested(code, "`$(...)`");
                    expansion(word);
                }
                WordPiece::BackquotedCommandSubstitution(code) => {
                    self.nested(code, "`` `...` ``");
                    expansion(word);
                }
                WordPiece::ArithmeticExpression(expr) => {
                    self.arithmetic(&expr.value);
                    expansion(word);
                }
            }
        }
    }
}

/// The words inside a parameter expansion (`${x:-WORD}`, `${x#PATTERN}`...), which may hold
/// substitutions of their own.
fn parameter_words(expr: &ParameterExpr) -> Vec<&str> {
    use ParameterExpr as P;
    fn index(parameter: &word::Parameter) -> Option<&str> {
        match parameter {
            word::Parameter::NamedWithIndex { index, .. } => Some(index),
            _ => None,
        }
    }
    let (parameter, words): (Option<&word::Parameter>, Vec<&str>) = match expr {
        P::Parameter { parameter, .. }
        | P::ParameterLength { parameter, .. }
        | P::Transform { parameter, .. } => (Some(parameter), vec![]),
        P::UseDefaultValues {
            parameter,
            default_value: value,
            ..
        }
        | P::AssignDefaultValues {
            parameter,
            default_value: value,
            ..
        }
        | P::IndicateErrorIfNullOrUnset {
            parameter,
            error_message: value,
            ..
        }
        | P::UseAlternativeValue {
            parameter,
            alternative_value: value,
            ..
        }
        | P::RemoveSmallestSuffixPattern {
            parameter,
            pattern: value,
            ..
        }
        | P::RemoveLargestSuffixPattern {
            parameter,
            pattern: value,
            ..
        }
        | P::RemoveSmallestPrefixPattern {
            parameter,
            pattern: value,
            ..
        }
        | P::RemoveLargestPrefixPattern {
            parameter,
            pattern: value,
            ..
        }
        | P::UppercaseFirstChar {
            parameter,
            pattern: value,
            ..
        }
        | P::UppercasePattern {
            parameter,
            pattern: value,
            ..
        }
        | P::LowercaseFirstChar {
            parameter,
            pattern: value,
            ..
        }
        | P::LowercasePattern {
            parameter,
            pattern: value,
            ..
        } => (Some(parameter), value.iter().map(String::as_str).collect()),
        P::Substring {
            parameter,
            offset,
            length,
            ..
        } => (
            Some(parameter),
            std::iter::once(offset)
                .chain(length)
                .map(|e| e.value.as_str())
                .collect(),
        ),
        P::ReplaceSubstring {
            parameter,
            pattern,
            replacement,
            ..
        } => (
            Some(parameter),
            std::iter::once(pattern)
                .chain(replacement)
                .map(String::as_str)
                .collect(),
        ),
        P::VariableNames { .. } | P::MemberKeys { .. } => (None, vec![]),
    };
    words.into_iter().chain(parameter.and_then(index)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for plain words must read every word as the word parser does: a seeded
    /// generator of words from every character but the six that make a word more than text.
    #[test]
    fn plain_words_read_as_the_parser_reads_them() {
        let mut rng = fastrand::Rng::with_seed(0x5eed_0013);
        let alphabet: Vec<char> = (' '..='\u{7f}')
            .chain(['é', '−', '\u{200b}', '世', '\t'])
            .filter(|c| !['$', '`', '\\', '\'', '"', '~'].contains(c))
            .collect();
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(1..12))
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let pieces = word::parse(&text, &options()).expect("a plain word parses");
            let mut parsed = Word {
                text: String::new(),
                literal: true,
            };
            Walker::new().pieces(&pieces, &text, &mut parsed);
            let shortcut = Walker::new().word(&ast::Word::new(&text));
            assert_eq!(shortcut, parsed, "the word {text:?}");
        }
    }
}
