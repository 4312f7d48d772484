//! What `#[sprout::test]` and `#[sprout::main]` turn a function into.
//!
//! ```ignore
//! #[sprout::test(paused, seed = 3)]
//! async fn name() -> R { body }
//! // becomes
//! #[::core::prelude::v1::test]
//! fn name() -> R {
//!     async fn __sprout_body() -> R { body }
//!     ::sprout::testing::run_test_with(::sprout::Runtime::builder().start_paused(true).seed(3), __sprout_body)
//! }
//! ```
//!
//! The body stays an `async fn` with the declared return type, so `?`,
//! `return` and error spans behave as in the original function.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Error, ItemFn};

use crate::args;

/// `#[sprout::test(...)]`.
pub(crate) fn test(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = args::parse(attr)?;
    let function: ItemFn = syn::parse2(item)?;
    check_signature(&function, "#[sprout::test]")?;
    if let Some(test) = function.attrs.iter().find(|a| is_test_attribute(a)) {
        return Err(Error::new_spanned(test, "#[sprout::test] already makes the function a #[test]: remove this one"));
    }
    let mut settings = TokenStream::new();
    if args.paused {
        settings.extend(quote!(.start_paused(true)));
    }
    if let Some(on) = args.auto_advance {
        settings.extend(quote!(.auto_advance(#on)));
    }
    if let Some(seed) = args.seed {
        settings.extend(quote!(.seed(#seed)));
    }
    let ItemFn { attrs, vis, sig, block } = function;
    let name = &sig.ident;
    let output = &sig.output;
    let span = sig.fn_token.span();
    let body = body_ident();
    let call = quote_spanned! {span=>
        ::sprout::testing::run_test_with(::sprout::Runtime::builder() #settings, #body)
    };
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() #output {
            async fn #body() #output #block
            #call
        }
    })
}

/// `#[sprout::main]`.
pub(crate) fn main(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(Error::new_spanned(attr, "#[sprout::main] takes no options: build a Runtime for other settings"));
    }
    let function: ItemFn = syn::parse2(item)?;
    check_signature(&function, "#[sprout::main]")?;
    let ItemFn { attrs, vis, sig, block } = function;
    let name = &sig.ident;
    let output = &sig.output;
    let span = sig.fn_token.span();
    let body = body_ident();
    let call = quote_spanned! {span=> ::sprout::run(#body()) };
    Ok(quote! {
        #(#attrs)*
        #vis fn #name() #output {
            async fn #body() #output #block
            #call
        }
    })
}

/// The inner function's name: not one a user would write.
fn body_ident() -> syn::Ident {
    syn::Ident::new("__sprout_body", Span::mixed_site())
}

/// An `async fn` without arguments, generics or receiver.
fn check_signature(function: &ItemFn, what: &str) -> syn::Result<()> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(Error::new(sig.fn_token.span, format!("{what} needs an `async fn`")));
    }
    if !sig.inputs.is_empty() {
        return Err(Error::new_spanned(&sig.inputs, format!("{what}: the function takes no arguments")));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new_spanned(&sig.generics, format!("{what}: the function cannot be generic")));
    }
    if let Some(constness) = &sig.constness {
        return Err(Error::new(constness.span(), format!("{what}: the function cannot be `const`")));
    }
    Ok(())
}

/// `#[test]` or `#[core::prelude::v1::test]`, however spelled.
fn is_test_attribute(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|last| last.ident == "test") && attr.meta.require_path_only().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(attr: TokenStream, item: TokenStream) -> Result<String, String> {
        test(attr, item).map(|t| t.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_test_becomes_a_test_fn_on_a_built_runtime() {
        let out = expand(
            quote!(paused, seed = 3),
            quote!(
                #[ignore]
                async fn t() -> Result<(), ()> {
                    Ok(())
                }
            ),
        )
        .unwrap();
        assert!(out.starts_with("# [:: core :: prelude :: v1 :: test]"), "{out}");
        assert!(out.contains("# [ignore] fn t () -> Result < () , () >"), "{out}");
        assert!(out.contains("async fn __sprout_body () -> Result < () , () > { Ok (()) }"), "{out}");
        assert!(out.contains(":: sprout :: Runtime :: builder () . start_paused (true) . seed (3u64)"), "{out}");
    }

    #[test]
    fn bad_functions_are_refused() {
        assert_eq!(
            expand(
                quote!(),
                quote!(
                    fn t() {}
                )
            )
            .unwrap_err(),
            "#[sprout::test] needs an `async fn`"
        );
        assert_eq!(
            expand(
                quote!(),
                quote!(
                    async fn t(x: u8) {}
                )
            )
            .unwrap_err(),
            "#[sprout::test]: the function takes no arguments"
        );
        assert_eq!(
            expand(
                quote!(),
                quote!(
                    async fn t<T>() {}
                )
            )
            .unwrap_err(),
            "#[sprout::test]: the function cannot be generic"
        );
        assert_eq!(
            expand(
                quote!(),
                quote!(
                    #[test]
                    async fn t() {}
                )
            )
            .unwrap_err(),
            "#[sprout::test] already makes the function a #[test]: remove this one"
        );
        assert_eq!(
            main(
                quote!(paused),
                quote!(
                    async fn main() {}
                )
            )
            .unwrap_err()
            .to_string(),
            "#[sprout::main] takes no options: build a Runtime for other settings"
        );
    }
}
