//! The options of `#[sprout::test(...)]`, and the errors for bad ones.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Error, Expr, ExprLit, Lit, Meta, Token};

/// What the attribute asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TestArgs {
    pub(crate) paused: bool,
    /// `None`: the builder's default (on).
    pub(crate) auto_advance: Option<bool>,
    pub(crate) seed: Option<u64>,
}

const USAGE: &str = "#[sprout::test] takes `paused`, `auto_advance = false` and `seed = N`";

/// Parses `paused, auto_advance = false, seed = 7` (any subset, any order,
/// each once).
pub(crate) fn parse(attr: TokenStream) -> syn::Result<TestArgs> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut args = TestArgs::default();
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let name = match meta.path().get_ident() {
            Some(ident) => ident.to_string(),
            None => return Err(Error::new_spanned(meta.path(), format!("unknown option: {USAGE}"))),
        };
        if seen.contains(&name) {
            return Err(Error::new_spanned(meta.path(), format!("`{name}` is given twice")));
        }
        match (name.as_str(), &meta) {
            ("paused", Meta::Path(_)) => args.paused = true,
            ("paused", Meta::NameValue(nv)) => args.paused = boolean(&nv.value, "paused")?,
            ("auto_advance", Meta::NameValue(nv)) => args.auto_advance = Some(boolean(&nv.value, "auto_advance")?),
            ("auto_advance", _) => {
                return Err(Error::new_spanned(&meta, "write `auto_advance = false` (or `= true`, the default)"));
            }
            ("seed", Meta::NameValue(nv)) => args.seed = Some(seed(&nv.value)?),
            ("seed", _) => return Err(Error::new_spanned(&meta, "write `seed = N`, with N a u64 literal")),
            ("paused", Meta::List(_)) => return Err(Error::new_spanned(&meta, "write `paused` or `paused = true`")),
            _ => return Err(Error::new_spanned(meta.path(), format!("unknown option `{name}`: {USAGE}"))),
        }
        seen.push(name);
    }
    Ok(args)
}

fn boolean(value: &Expr, name: &str) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => Ok(b.value),
        _ => Err(Error::new_spanned(value, format!("`{name}` takes `true` or `false`"))),
    }
}

fn seed(value: &Expr) -> syn::Result<u64> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Int(int), .. }) => int
            .base10_parse::<u64>()
            .map_err(|_| Error::new_spanned(int, "the seed must fit in a u64 (0 to 18446744073709551615)")),
        _ => Err(Error::new_spanned(value, "the seed must be an integer literal, such as `seed = 17`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn err(attr: TokenStream) -> String {
        parse(attr).unwrap_err().to_string()
    }

    #[test]
    fn accepts_every_option_in_any_order() {
        assert_eq!(parse(quote!()).unwrap(), TestArgs::default());
        assert_eq!(parse(quote!(paused)).unwrap(), TestArgs { paused: true, ..TestArgs::default() });
        assert_eq!(
            parse(quote!(seed = 17, paused = true, auto_advance = false,)).unwrap(),
            TestArgs { paused: true, auto_advance: Some(false), seed: Some(17) }
        );
        assert_eq!(parse(quote!(paused = false)).unwrap(), TestArgs::default());
        assert_eq!(parse(quote!(seed = 18446744073709551615)).unwrap().seed, Some(u64::MAX));
        assert_eq!(parse(quote!(seed = 0x10)).unwrap().seed, Some(16));
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(err(quote!(pause)), format!("unknown option `pause`: {USAGE}"));
        assert_eq!(err(quote!(a::b)), format!("unknown option: {USAGE}"));
        assert_eq!(err(quote!(paused, paused)), "`paused` is given twice");
        assert_eq!(err(quote!(seed)), "write `seed = N`, with N a u64 literal");
        assert_eq!(err(quote!(seed = "7")), "the seed must be an integer literal, such as `seed = 17`");
        assert_eq!(err(quote!(seed = -1)), "the seed must fit in a u64 (0 to 18446744073709551615)");
        assert_eq!(err(quote!(seed = 18446744073709551616)), "the seed must fit in a u64 (0 to 18446744073709551615)");
        assert_eq!(err(quote!(auto_advance)), "write `auto_advance = false` (or `= true`, the default)");
        assert_eq!(err(quote!(paused = 1)), "`paused` takes `true` or `false`");
        assert_eq!(err(quote!(paused(yes))), "write `paused` or `paused = true`");
        assert!(parse(quote!(paused seed)).is_err());
    }
}
