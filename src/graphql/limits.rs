//! What one GraphQL request may ask. Two checks, both before any resolver runs:
//!
//! - the *shape* of each document ([`check_document`]), on the parsed text: how deep data fields
//!   nest, how introspection nests (deep enough for the standard introspection query of every
//!   mainstream client, never deeper), fragment cycles, and how many selections the document
//!   expands to once fragments are spread;
//! - the *cost* of each operation ([`operation_cost`]: a field costs one plus what it selects,
//!   a `search` [`SEARCH_COST`] plus its page), charged to one [`Budget`] per HTTP request, so
//!   a batch of operations cannot spend more than one request may.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet, VariableDefinition,
};
use async_graphql::parser::Positioned;
use async_graphql::{Name, Value as ConstValue, Variables};

use crate::auth::Principal;
use crate::error::{AppError, ErrorCode, HasErrorCode};

/// Deepest nesting of data fields (introspection is measured on its own).
pub const MAX_DEPTH: usize = 12;
/// Deepest nesting inside `__schema` / `__type`. The standard introspection query of graphql-js
/// and graphql-core nests 15 fields deep (`__schema types fields args type` and 9 `ofType`).
pub const MAX_INTROSPECTION_DEPTH: usize = 16;
/// Longest chain of `ofType` (graphql-js asks 9 by default; no schema type wraps deeper than 3).
pub const MAX_OF_TYPE_CHAIN: usize = 10;
/// Most selections a document may expand to, counting a fragment each time it is spread.
pub const MAX_SELECTIONS: usize = 2_000;
/// Deepest nesting of selection sets and fragment spreads together, so that no later pass over
/// the document (ours or async-graphql's) can recurse without bound.
pub const MAX_NESTING: usize = 30;

/// What one `search` costs before its page: the index work of a query, its count and facets,
/// which is far more than resolving a field.
pub const SEARCH_COST: usize = 100;
/// What a `live: true` search adds: it also asks every live publisher endpoint.
pub const LIVE_SEARCH_EXTRA_COST: usize = 100;
/// What one request may spend without a key: ten searches.
pub const ANONYMOUS_BUDGET: usize = 1_000;
/// What one request may spend with a publisher key or the admin token.
pub const KEYED_BUDGET: usize = 5_000;

/// The fields of an introspection `__Type` that list its members. Standard introspection asks
/// them once per type; below one another they multiply the answer by the schema's size.
const TYPE_MEMBER_LISTS: [&str; 5] = ["fields", "inputFields", "enumValues", "interfaces", "possibleTypes"];

/// Why a request was refused before or while it ran.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LimitError {
    #[error("the query is nested too deep to parse")]
    ParserRecursion,
    #[error("the query nests fields {0} deep; at most {MAX_DEPTH} are allowed")]
    TooDeep(usize),
    #[error("the query nests selections and fragments more than {MAX_NESTING} deep")]
    TooNested,
    #[error("introspection nests {0} fields deep; at most {MAX_INTROSPECTION_DEPTH} are allowed")]
    IntrospectionTooDeep(usize),
    #[error("`ofType` is chained {0} times; at most {MAX_OF_TYPE_CHAIN} are allowed")]
    OfTypeChain(usize),
    #[error(
        "introspection lists type members below type members (`fields`, `inputFields`, `enumValues`, \
         `interfaces` or `possibleTypes` inside one another); ask `__type(name:)` for each type instead"
    )]
    NestedTypeMembers,
    #[error(
        "the document expands to more than {MAX_SELECTIONS} selections (a fragment counts each time it is spread)"
    )]
    TooManySelections,
    #[error("fragment `{0}` spreads itself")]
    FragmentCycle(String),
    #[error(
        "this request would cost {cost} but may cost at most {limit} (a search costs {SEARCH_COST} plus its page; \
         every operation of a batch counts){}", if *.anonymous { "; callers with a key get more" } else { "" }
    )]
    OverBudget { cost: usize, limit: usize, anonymous: bool },
    #[error("the query did not finish within {0} ms: ask for less, or try again when the gateway is less busy")]
    Deadline(u128),
}

impl HasErrorCode for LimitError {
    fn error_code(&self) -> ErrorCode {
        match self {
            LimitError::Deadline(_) => ErrorCode::Unavailable,
            _ => ErrorCode::QueryTooComplex,
        }
    }
}

impl From<LimitError> for AppError {
    fn from(err: LimitError) -> Self {
        AppError::new(err.error_code(), err.to_string())
    }
}

/// Parses a query text; a text nested past the parser's limit is `QUERY_TOO_COMPLEX`, any
/// other syntax error `BAD_USER_INPUT`.
pub fn parse(query: &str) -> Result<ExecutableDocument, AppError> {
    async_graphql::parser::parse_query(query).map_err(|err| match err {
        async_graphql::parser::Error::RecursionLimitExceeded => LimitError::ParserRecursion.into(),
        other => AppError::bad_input(other.to_string()),
    })
}

/// Where the walk is inside one path of the document.
#[derive(Clone, Copy, Default)]
struct Path {
    /// Data fields above (introspection excluded).
    depth: usize,
    /// Selection sets and fragment spreads above.
    nesting: usize,
    /// Inside `__schema` or `__type`: fields since (and including) that root.
    introspection: Option<usize>,
    /// Consecutive `ofType` fields ending here.
    of_type: usize,
    /// Type-member lists above, inside introspection.
    member_lists: usize,
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    selections: usize,
    /// Fragments being spread on the current path (a cycle when one comes back).
    spreading: Vec<&'a str>,
}

/// Checks the shape of a parsed document: every operation, every fragment as spread.
pub fn check_document(document: &ExecutableDocument) -> Result<(), LimitError> {
    check_fragment_cycles(document)?;
    let mut walk = Walk { document, selections: 0, spreading: Vec::new() };
    for (_, operation) in document.operations.iter() {
        walk.selection_set(&operation.node.selection_set.node, Path::default())?;
    }
    Ok(())
}

/// Refuses a fragment that spreads itself, directly or through others, whether or not an
/// operation uses it: async-graphql's own passes would follow such a cycle.
fn check_fragment_cycles(document: &ExecutableDocument) -> Result<(), LimitError> {
    fn spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a str>) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => spreads(&field.node.selection_set.node, out),
                Selection::InlineFragment(fragment) => spreads(&fragment.node.selection_set.node, out),
                Selection::FragmentSpread(spread) => out.push(spread.node.fragment_name.node.as_str()),
            }
        }
    }
    let edges: HashMap<&str, Vec<&str>> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut out = Vec::new();
            spreads(&fragment.node.selection_set.node, &mut out);
            (name.as_str(), out)
        })
        .collect();
    // Depth-first with three colours: on the current path (a cycle when met again) or done.
    let mut done: HashSet<&str> = HashSet::new();
    for start in edges.keys() {
        if done.contains(start) {
            continue;
        }
        let mut on_path: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((name, next)) = on_path.last().copied() {
            let targets = edges.get(name).map(Vec::as_slice).unwrap_or_default();
            match targets.get(next) {
                Some(target) => {
                    if let Some(top) = on_path.last_mut() {
                        top.1 += 1;
                    }
                    if on_path.iter().any(|(on, _)| on == target) {
                        return Err(LimitError::FragmentCycle((*target).to_string()));
                    }
                    if edges.contains_key(target) && !done.contains(target) {
                        on_path.push((target, 0));
                    }
                }
                None => {
                    done.insert(name);
                    on_path.pop();
                }
            }
        }
    }
    Ok(())
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, path: Path) -> Result<(), LimitError> {
        let path = Path { nesting: path.nesting + 1, ..path };
        if path.nesting > MAX_NESTING {
            return Err(LimitError::TooNested);
        }
        for selection in &set.items {
            self.selections += 1;
            if self.selections > MAX_SELECTIONS {
                return Err(LimitError::TooManySelections);
            }
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let inner = field_path(path, name)?;
                    self.selection_set(&field.node.selection_set.node, inner)?;
                }
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.node.selection_set.node, path)?,
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.spreading.contains(&name) {
                        return Err(LimitError::FragmentCycle(name.to_string()));
                    }
                    // An unknown fragment is reported by validation.
                    if let Some(fragment) = self.document.fragments.get(name) {
                        self.spreading.push(name);
                        self.selection_set(&fragment.node.selection_set.node, path)?;
                        self.spreading.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// The path below a field named `name`, or why that field goes too far.
fn field_path(path: Path, name: &str) -> Result<Path, LimitError> {
    let mut inner = path;
    match path.introspection {
        None if matches!(name, "__schema" | "__type") => inner.introspection = Some(1),
        None => {
            inner.depth += 1;
            if inner.depth > MAX_DEPTH {
                return Err(LimitError::TooDeep(inner.depth));
            }
        }
        Some(depth) => {
            inner.introspection = Some(depth + 1);
            if depth + 1 > MAX_INTROSPECTION_DEPTH {
                return Err(LimitError::IntrospectionTooDeep(depth + 1));
            }
            inner.of_type = if name == "ofType" { path.of_type + 1 } else { 0 };
            if inner.of_type > MAX_OF_TYPE_CHAIN {
                return Err(LimitError::OfTypeChain(inner.of_type));
            }
            if TYPE_MEMBER_LISTS.contains(&name) {
                inner.member_lists += 1;
                if inner.member_lists > 1 {
                    return Err(LimitError::NestedTypeMembers);
                }
            }
        }
    }
    Ok(inner)
}

/// How many resolved fields of a result page cost one unit: resolving a field of a hit is
/// in-memory work, a small fraction of what the search itself costs.
pub const FIELDS_PER_UNIT: usize = 10;

/// The cost of a `search` field: its base cost, and its page times what each result selects
/// (so one search of 100 fully selected results still fits an anonymous budget).
pub fn search_cost(first: i32, live: bool, child_complexity: usize) -> usize {
    let page = usize::try_from(first.clamp(1, 100)).unwrap_or(100);
    let live_extra = if live { LIVE_SEARCH_EXTRA_COST } else { 0 };
    SEARCH_COST + live_extra + page.saturating_mul(child_complexity) / FIELDS_PER_UNIT
}

/// What one HTTP request may still spend; shared by the operations of a batch.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    spent: AtomicUsize,
    anonymous: bool,
}

impl Budget {
    pub fn for_principal(principal: &Principal) -> Self {
        let anonymous = *principal == Principal::Anonymous;
        let limit = if anonymous { ANONYMOUS_BUDGET } else { KEYED_BUDGET };
        Self { limit, spent: AtomicUsize::new(0), anonymous }
    }

    /// Charges an operation's cost, or refuses it (charging nothing) when the request would
    /// spend more than its limit.
    pub fn charge(&self, cost: usize) -> Result<(), LimitError> {
        let limit = self.limit;
        self.spent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |spent| {
                spent.checked_add(cost).filter(|total| *total <= limit)
            })
            .map(drop)
            .map_err(|spent| LimitError::OverBudget {
                cost: spent.saturating_add(cost),
                limit,
                anonymous: self.anonymous,
            })
    }
}

/// What the operation that runs costs (with no name given, the document's operations: there is
/// then one, or async-graphql refuses the request): each field one plus what it selects, and a
/// `search` of the query root [`search_cost`] of its `first` and `live` (literal, variable,
/// variable default or argument default). It counts as async-graphql's complexity does (a test
/// holds them equal), so the budget is charged before any resolver runs without an
/// async-graphql extension: with one, every resolved field goes through the extension chain,
/// 10% of the serving CPU under the peer kit's mix (BENCHMARKS.md, issue 14). `document` has
/// passed [`check_document`], so fragments are acyclic and the walk bounded.
pub fn operation_cost(document: &ExecutableDocument, operation_name: Option<&str>, variables: &Variables) -> usize {
    let mut total = 0usize;
    for (name, operation) in document.operations.iter() {
        if operation_name.is_some_and(|wanted| name.map(|n| n.as_str()) != Some(wanted)) {
            continue;
        }
        let cost = Cost { document, variables, definitions: &operation.node.variable_definitions };
        let query_root = operation.node.ty == OperationType::Query;
        total = total.saturating_add(cost.selection_set(&operation.node.selection_set.node, query_root));
    }
    total
}

/// The walk of [`operation_cost`] over one operation.
struct Cost<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
}

impl Cost<'_> {
    fn selection_set(&self, set: &SelectionSet, query_root: bool) -> usize {
        let mut total = 0usize;
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.name.node == "__typename" {
                        // Not a field of the type: async-graphql answers it without counting.
                        continue;
                    }
                    let children = self.selection_set(&field.selection_set.node, false);
                    if query_root && field.name.node == "search" {
                        let first = self.argument(field, "first").and_then(|v| match v {
                            ConstValue::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
                            _ => None,
                        });
                        let live = self.argument(field, "live").and_then(|v| match v {
                            ConstValue::Boolean(b) => Some(b),
                            _ => None,
                        });
                        search_cost(first.unwrap_or(20), live.unwrap_or(false), children)
                    } else {
                        children.saturating_add(1)
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, query_root)
                }
                Selection::FragmentSpread(spread) => self
                    .document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |fragment| self.selection_set(&fragment.node.selection_set.node, query_root)),
            };
            total = total.saturating_add(cost);
        }
        total
    }

    /// An argument's value with variables substituted; `None` when absent or not given.
    fn argument(&self, field: &Field, name: &str) -> Option<ConstValue> {
        let value = field.get_argument(name)?.node.clone();
        value.into_const_with(|variable| self.variable(&variable).ok_or(())).ok()
    }

    /// A variable's value: the request's, else its definition's default.
    fn variable(&self, name: &Name) -> Option<ConstValue> {
        self.variables.get(name).cloned().or_else(|| {
            let definition = self.definitions.iter().find(|d| d.node.name.node == *name)?;
            definition.node.default_value.as_ref().map(|value| value.node.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn check(query: &str) -> Result<(), LimitError> {
        check_document(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn test_standard_introspection_fits_and_hostile_nesting_does_not() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/introspection");
        let mut checked = 0;
        for entry in std::fs::read_dir(fixtures).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "graphql") {
                let text = std::fs::read_to_string(&path).expect("fixture");
                check(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                checked += 1;
            }
        }
        assert!(checked >= 6, "every fixture was checked");

        let of_types = "ofType { ".repeat(11) + "name" + &" }".repeat(11);
        assert!(matches!(
            check(&format!("{{ __type(name: \"Query\") {{ {of_types} }} }}")),
            Err(LimitError::OfTypeChain(11))
        ));
        let members = "{ __schema { types { fields { type { fields { type { name } } } } } } }";
        assert!(matches!(check(members), Err(LimitError::NestedTypeMembers)));
        let deep = format!("{{ __type(name: \"Query\") {{ {} name {} }} }}", "a { ".repeat(16), "}".repeat(16));
        assert!(matches!(check(&deep), Err(LimitError::IntrospectionTooDeep(_))));
    }

    #[test]
    fn test_data_depth_fragments_and_expansion_are_bounded() {
        assert!(check("{ search { edges { node { publisher { sources { lastRun { diagnostics { item } } } } } } } }")
            .is_ok());
        let deep = format!("{{ {} id {} }}", "a { ".repeat(12), "}".repeat(12));
        assert!(matches!(check(&deep), Err(LimitError::TooDeep(13))));
        assert!(matches!(
            check("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Err(LimitError::FragmentCycle(_))
        ));
        assert!(
            matches!(check("{ __typename } fragment A on Query { ...A }"), Err(LimitError::FragmentCycle(_))),
            "unused too"
        );
        // Each fragment spreads the next twice: 2^20 selections from a few hundred bytes.
        let mut bomb = String::from("{ ...F0 }");
        for level in 0..20 {
            bomb.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
        }
        bomb.push_str(" fragment F20 on Query { __typename }");
        assert!(matches!(check(&bomb), Err(LimitError::TooManySelections)));
        let mut chain = String::from("{ ...F0 }");
        for level in 0..40 {
            chain.push_str(&format!(" fragment F{level} on Query {{ ...F{} }}", level + 1));
        }
        chain.push_str(" fragment F40 on Query { __typename }");
        assert!(matches!(check(&chain), Err(LimitError::TooNested)));
    }

    /// async-graphql's own complexity of a request, as its validation computes it.
    async fn engine_complexity(query: &str, operation: Option<&str>, variables: serde_json::Value) -> usize {
        use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
        use async_graphql::{EmptySubscription, Request, Schema, ServerError, ValidationResult};

        struct Seen(Arc<AtomicUsize>);
        impl ExtensionFactory for Seen {
            fn create(&self) -> Arc<dyn Extension> {
                Arc::new(Seen(self.0.clone()))
            }
        }
        #[async_graphql::async_trait::async_trait]
        impl Extension for Seen {
            async fn validation(
                &self,
                ctx: &ExtensionContext<'_>,
                next: NextValidation<'_>,
            ) -> Result<ValidationResult, Vec<ServerError>> {
                let result = next.run(ctx).await?;
                self.0.store(result.complexity, Ordering::SeqCst);
                Ok(result)
            }
        }
        let seen = Arc::new(AtomicUsize::new(usize::MAX));
        let schema =
            Schema::build(super::super::QueryRoot::default(), super::super::MutationRoot::default(), EmptySubscription)
                .extension(Seen(seen.clone()))
                .finish();
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        if let Some(name) = operation {
            request = request.operation_name(name);
        }
        // Without the app the resolvers fail; validation, which costs the request, ran first.
        let _ = schema.execute(request).await;
        let complexity = seen.load(Ordering::SeqCst);
        assert_ne!(complexity, usize::MAX, "{query} did not validate");
        complexity
    }

    #[tokio::test]
    async fn test_the_budget_counts_what_async_graphql_counts() {
        let kit = "query Search($q: String, $f: ResourceFilter) { search(query: $q, filter: $f, first: 10) { \
                   totalCount edges { score node { id title url } } \
                   facets { publisher { value count } subject { value count } } } }";
        let cases: Vec<(&str, Option<&str>, serde_json::Value)> = vec![
            (kit, None, serde_json::json!({ "q": "fractions" })),
            ("{ search { totalCount } }", None, serde_json::json!({})),
            ("query($n: Int! = 7) { search(first: $n, live: true) { edges { node { id title } } } }", None, serde_json::json!({})),
            ("query($n: Int! = 7, $l: Boolean!) { search(first: $n, live: $l) { edges { cursor node { id } } } }", None,
             serde_json::json!({ "n": 30, "l": true })),
            ("{ a: search(first: 100) { totalCount } b: search(first: 3) { edges { node { id title description } } } __typename }",
             None, serde_json::json!({})),
            ("{ ...F } fragment F on QueryRoot { search(first: 5) { edges { node { ...R ... on Resource { url } } } } publishers { id } } \
              fragment R on Resource { id title publisher { name } }", None, serde_json::json!({})),
            ("{ publishers { id name sources { id } } resource(id: \"x\") { title } }", None, serde_json::json!({})),
            ("{ __schema { types { name fields { name } } } }", None, serde_json::json!({})),
            ("mutation { removePublisher(id: \"x\") { id } }", None, serde_json::json!({})),
        ];
        for (query, operation, variables) in cases {
            let document = parse(query).expect("parses");
            check_document(&document).expect("fits");
            let ours = operation_cost(&document, operation, &Variables::from_json(variables.clone()));
            assert_eq!(ours, engine_complexity(query, operation, variables).await, "{query}");
        }
        // Of several operations only the one that runs is charged (async-graphql would count
        // them all).
        let two = parse("query A { search(first: 50) { totalCount } } query B { publishers { id } }").expect("parses");
        let none = Variables::default();
        let a = engine_complexity("query A { search(first: 50) { totalCount } }", None, serde_json::json!({})).await;
        let b = engine_complexity("query B { publishers { id } }", None, serde_json::json!({})).await;
        assert_eq!((operation_cost(&two, Some("A"), &none), operation_cost(&two, Some("B"), &none)), (a, b));
        assert_eq!(operation_cost(&two, Some("C"), &none), 0, "an unknown operation runs nothing");
    }

    #[test]
    fn test_budget_covers_every_operation_and_refuses_without_charging() {
        let budget = Budget::for_principal(&Principal::Anonymous);
        for _ in 0..10 {
            budget.charge(SEARCH_COST).expect("ten searches fit");
        }
        let refused = budget.charge(SEARCH_COST).unwrap_err();
        assert!(matches!(refused, LimitError::OverBudget { cost: 1_100, limit: ANONYMOUS_BUDGET, anonymous: true }));
        assert!(budget.charge(0).is_ok(), "a refusal charged nothing");
        assert!(Budget::for_principal(&Principal::Admin).charge(KEYED_BUDGET).is_ok());
        assert_eq!(search_cost(20, false, 5), SEARCH_COST + 10);
        assert_eq!(search_cost(20, true, 5), SEARCH_COST + LIVE_SEARCH_EXTRA_COST + 10);
        assert_eq!(search_cost(1_000, false, 5), SEARCH_COST + 50, "first counts as at most 100");
        assert!(matches!(parse("{ search("), Err(AppError { code: ErrorCode::BadUserInput, .. })));
        let nested = "{ a ".repeat(200) + &"}".repeat(200);
        assert!(matches!(parse(&nested), Err(AppError { code: ErrorCode::QueryTooComplex, .. })));
    }
}
