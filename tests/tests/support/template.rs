//! `infra/template.yaml` as the tests read it: the functions (binary, role, environment with
//! `Globals` merged), each role's `Allow` statements, and a small evaluator for the intrinsic
//! functions the template uses (`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split` and the condition functions), in short (`!Ref`) or long form.

#![allow(dead_code)]

use serde_norway::Value;
use std::collections::BTreeMap;

/// The parsed template.
pub struct Template {
    pub doc: Value,
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The directory name under `target/lambda/` its `CodeUri` points at.
    pub binary: String,
    /// The logical id of its `AWS::IAM::Role` (`Role: !GetAtt X.Arn`).
    pub role: String,
    /// Its environment, `Globals` first, the function's own variables over them.
    pub env: BTreeMap<String, Value>,
    pub properties: Value,
}

/// One `Allow` statement of a role's inline policies.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<Value>,
}

impl Template {
    /// Reads `infra/template.yaml` of this repository.
    pub fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
        let text = std::fs::read_to_string(path).expect("infra/template.yaml");
        Self {
            doc: serde_norway::from_str(&text).expect("infra/template.yaml is YAML"),
        }
    }

    pub fn resources(&self) -> impl Iterator<Item = (String, &Value)> {
        self.doc["Resources"]
            .as_mapping()
            .expect("Resources")
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
    }

    pub fn resource(&self, logical_id: &str) -> &Value {
        let r = &self.doc["Resources"][logical_id];
        assert!(!r.is_null(), "no resource {logical_id} in the template");
        r
    }

    /// Every serverless function.
    pub fn functions(&self) -> Vec<FunctionDef> {
        let globals = self.doc["Globals"]["Function"]["Environment"]["Variables"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        self.resources()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|(id, r)| {
                let props = &with_globals(&self.doc["Globals"]["Function"], &r["Properties"]);
                let code = props["CodeUri"].as_str().unwrap_or_default();
                let binary = code
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let role = match intrinsic(&props["Role"]) {
                    Some(("GetAtt", arg)) => getatt_parts(arg).0,
                    other => panic!("{id}: Role must be !GetAtt <Role>.Arn, found {other:?}"),
                };
                let mut env = BTreeMap::new();
                for (k, v) in globals.iter().chain(
                    props["Environment"]["Variables"]
                        .as_mapping()
                        .into_iter()
                        .flatten(),
                ) {
                    env.insert(k.as_str().unwrap().to_string(), v.clone());
                }
                FunctionDef {
                    logical_id: id,
                    binary,
                    role,
                    env,
                    properties: props.clone(),
                }
            })
            .collect()
    }

    /// Every statement of a role's inline policies, as written (conditional ones included).
    pub fn raw_statements(&self, role: &str) -> Vec<&Value> {
        let r = self.resource(role);
        assert_eq!(r["Type"].as_str(), Some("AWS::IAM::Role"), "{role}");
        r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|policy| {
                policy["PolicyDocument"]["Statement"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
            })
            .collect()
    }

    /// The `Allow` statements of a role's inline policies.
    pub fn role_statements(&self, role: &str) -> Vec<Statement> {
        self.raw_statements(role)
            .into_iter()
            .filter(|s| s["Effect"].as_str() == Some("Allow"))
            .map(|s| Statement {
                sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                actions: one_or_many(&s["Action"])
                    .iter()
                    .map(|a| a.as_str().expect("a literal action").to_string())
                    .collect(),
                resources: one_or_many(&s["Resource"]),
            })
            .collect()
    }
}

/// A function's properties with `Globals.Function` merged in as SAM does: a property the
/// function lacks comes from Globals; maps are merged, the function's keys winning.
fn with_globals(globals: &Value, props: &Value) -> Value {
    let mut out = props.clone();
    let (Some(globals), Some(target)) = (globals.as_mapping(), out.as_mapping_mut()) else {
        return out;
    };
    for (k, g) in globals {
        match (target.get_mut(k), g) {
            (None, _) => {
                target.insert(k.clone(), g.clone());
            }
            (Some(Value::Mapping(own)), Value::Mapping(g)) => {
                for (gk, gv) in g {
                    if !own.contains_key(gk) {
                        own.insert(gk.clone(), gv.clone());
                    }
                }
            }
            (Some(_), _) => {}
        }
    }
    out
}

fn one_or_many(v: &Value) -> Vec<Value> {
    match v {
        Value::Sequence(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// `(function, argument)` of an intrinsic in short (`!Sub x`) or long (`{Fn::Sub: x}`) form.
pub fn intrinsic(v: &Value) -> Option<(&str, &Value)> {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let name: &'static str = match name {
                "Ref" => "Ref",
                "Sub" => "Sub",
                "GetAtt" => "GetAtt",
                "If" => "If",
                "Join" => "Join",
                "Select" => "Select",
                "Split" => "Split",
                "Equals" => "Equals",
                "Not" => "Not",
                "And" => "And",
                "Or" => "Or",
                "Condition" => "Condition",
                "ImportValue" => "ImportValue",
                "FindInMap" => "FindInMap",
                "Base64" => "Base64",
                "GetAZs" => "GetAZs",
                "Cidr" => "Cidr",
                other => panic!("unknown intrinsic !{other}"),
            };
            Some((name, &t.value))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            let name = if k == "Ref" || k == "Condition" {
                k
            } else {
                k.strip_prefix("Fn::")?
            };
            Some((name, arg))
        }
        _ => None,
    }
}

fn getatt_parts(arg: &Value) -> (String, String) {
    match arg {
        Value::String(s) => {
            let (a, b) = s.split_once('.').expect("!GetAtt Resource.Attribute");
            (a.to_string(), b.to_string())
        }
        Value::Sequence(p) => (
            p[0].as_str().unwrap().to_string(),
            p[1].as_str().unwrap().to_string(),
        ),
        other => panic!("bad GetAtt {other:?}"),
    }
}

/// What `Ref`, `GetAtt` and pseudo parameters resolve to, for one imagined deployment.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Parameter values over the template's defaults.
    pub params: BTreeMap<String, String>,
    /// `Ref` of resources (logical id → value) and pseudo parameters (`AWS::Region`…).
    pub refs: BTreeMap<String, String>,
    /// `GetAtt` values (`Logical.Attribute` → value).
    pub atts: BTreeMap<String, String>,
}

impl Resolver {
    /// Parameter defaults of `template`, plus `AWS::` pseudo parameters of a test account.
    pub fn new(template: &Template) -> Self {
        let mut r = Resolver::default();
        for (k, v) in template.doc["Parameters"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            let value = match &v["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => String::new(),
            };
            r.params.insert(k.as_str().unwrap().to_string(), value);
        }
        for (k, v) in [
            ("AWS::Region", "us-east-1"),
            ("AWS::AccountId", "123456789012"),
            ("AWS::Partition", "aws"),
            ("AWS::URLSuffix", "amazonaws.com"),
            ("AWS::StackName", "handoff-test"),
        ] {
            r.refs.insert(k.to_string(), v.to_string());
        }
        r
    }

    fn lookup(&self, name: &str) -> String {
        if let Some(v) = self.params.get(name).or_else(|| self.refs.get(name)) {
            return v.clone();
        }
        if let Some(v) = self.atts.get(name) {
            return v.clone();
        }
        // An unmapped resource: a recognisable placeholder.
        format!("<{name}>")
    }

    /// The value of `v` (`None`: `AWS::NoValue`).
    pub fn resolve(&self, template: &Template, v: &Value) -> Option<String> {
        match intrinsic(v) {
            None => match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                other => panic!("cannot resolve {other:?} to a string"),
            },
            Some(("Ref", arg)) => {
                let name = arg.as_str().expect("Ref name");
                (name != "AWS::NoValue").then(|| self.lookup(name))
            }
            Some(("GetAtt", arg)) => {
                let (a, b) = getatt_parts(arg);
                Some(self.lookup(&format!("{a}.{b}")))
            }
            Some(("Sub", arg)) => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.clone(), None),
                    Value::Sequence(p) => (p[0].as_str().unwrap().to_string(), p.get(1)),
                    other => panic!("bad Sub {other:?}"),
                };
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let end = rest[i..].find('}').expect("closing }") + i;
                    let name = &rest[i + 2..end];
                    let local = vars.and_then(|m| m.get(name));
                    out.push_str(&match local {
                        Some(v) => self.resolve(template, v).unwrap_or_default(),
                        None if name.contains('.') && !name.starts_with("AWS::") => {
                            self.lookup(name)
                        }
                        None => self.lookup(name),
                    });
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Some(out)
            }
            Some(("If", arg)) => {
                let p = arg.as_sequence().expect("If [cond, a, b]");
                let cond = p[0].as_str().expect("If condition name");
                let branch = if self.condition(template, cond) {
                    &p[1]
                } else {
                    &p[2]
                };
                self.resolve(template, branch)
            }
            Some(("Join", arg)) => {
                let p = arg.as_sequence().expect("Join [sep, list]");
                let sep = p[0].as_str().unwrap_or_default();
                let items: Vec<String> = self.list(template, &p[1]).into_iter().collect();
                Some(items.join(sep))
            }
            Some(("Select", arg)) => {
                let p = arg.as_sequence().expect("Select [i, list]");
                let i: usize = self.resolve(template, &p[0]).unwrap().parse().unwrap();
                Some(self.list(template, &p[1]).swap_remove(i))
            }
            Some((other, _)) => panic!("cannot resolve the intrinsic {other} to a string"),
        }
    }

    /// The values of a list (a sequence, or `Fn::Split`).
    pub fn list(&self, template: &Template, v: &Value) -> Vec<String> {
        match (intrinsic(v), v) {
            (Some(("Split", arg)), _) => {
                let p = arg.as_sequence().unwrap();
                let sep = p[0].as_str().unwrap();
                self.resolve(template, &p[1])
                    .unwrap_or_default()
                    .split(sep)
                    .map(str::to_string)
                    .collect()
            }
            (Some(_), _) => vec![self.resolve(template, v).unwrap_or_default()],
            (None, Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| self.resolve(template, i))
                .collect(),
            (None, other) => vec![self.resolve(template, other).unwrap_or_default()],
        }
    }

    /// The value of condition `name` for these parameters.
    pub fn condition(&self, template: &Template, name: &str) -> bool {
        let def = &template.doc["Conditions"][name];
        assert!(!def.is_null(), "no condition {name}");
        self.truth(template, def)
    }

    fn truth(&self, template: &Template, v: &Value) -> bool {
        match intrinsic(v) {
            Some(("Equals", arg)) => {
                let p = arg.as_sequence().unwrap();
                self.resolve(template, &p[0]) == self.resolve(template, &p[1])
            }
            Some(("Not", arg)) => !self.truth(template, &arg.as_sequence().unwrap()[0]),
            Some(("And", arg)) => arg
                .as_sequence()
                .unwrap()
                .iter()
                .all(|c| self.truth(template, c)),
            Some(("Or", arg)) => arg
                .as_sequence()
                .unwrap()
                .iter()
                .any(|c| self.truth(template, c)),
            Some(("Condition", arg)) => self.condition(template, arg.as_str().unwrap()),
            other => panic!("not a condition: {other:?}"),
        }
    }
}

/// Whether `pattern` (IAM wildcards `*` and `?`) matches `text`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[test]
fn glob_matches_like_iam() {
    assert!(glob(
        "arn:*:secret:x/providers/*",
        "arn:aws:secret:x/providers/typeform-AbCdEf"
    ));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "abbc"));
    assert!(glob("*", ""));
    assert!(!glob(
        "x/providers/hubspot_token-??????",
        "x/providers/hubspot_token-AbCd"
    ));
}
