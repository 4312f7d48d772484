//! `sprout::select!`: wait on several futures, run the branch of the first
//! to complete, drop the others.
//!
//! ```ignore
//! select! {
//!     biased;                                  // optional: poll in order
//!     Some(x) = rx.get() , if open => { .. }   // pattern = future, optional guard => handler
//!     _ = sleep(d) => ..,
//!     else => ..,                              // optional: every branch disabled
//! }
//! // becomes, in outline:
//! {
//!     enum Out<T0, T1> { _0(T0), _1(T1) }
//!     let mut disabled: u64 = 0;
//!     if !(open) { disabled |= 1 << 0; }       // guards first, in order
//!     let out = {
//!         let mut f0 = pin!(rx.get());         // futures next, in order, pinned here
//!         let mut f1 = pin!(sleep(d));
//!         poll_fn(|cx| select_poll(2, biased, |i| match i {
//!             // poll branch i unless disabled; a finished one is disabled,
//!             // and returned if its value matches its pattern
//!             0 => ..., 1 => ...,
//!         })).await                            // `None`: every branch disabled
//!     };                                       // the futures are dropped here,
//!     match out {                              // before any handler runs
//!         Some(Out::_0(Some(x))) => { .. }
//!         Some(Out::_1(_)) => ..,
//!         None => ..,                          // the else branch, or a panic
//!     }
//! }
//! ```
//!
//! The loop over the branches (the pseudo-random start, the wrap-around,
//! "all disabled") is `select_poll` in the runtime (`sprout::__private`):
//! ordinary code, compiled once, rather than arithmetic in every expansion
//! for lints to trip on.
//!
//! A value that does not match its branch's pattern disables the branch,
//! and the wait goes on (tokio's rule). Patterns are checked on a reference
//! to the value with `mut` and `ref` taken out (a binding mode may not be
//! written under a reference pattern); the real match, by value, is in the
//! handlers' `match`. Names the expansion introduces are `mixed_site`, so
//! they cannot clash with the user's.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Block, Error, Expr, ExprBlock, Ident, Pat, Token, braced, token};

/// At most this many branches: the disabled set is one `u64`.
const MAX_BRANCHES: usize = 64;

/// One `pattern = future, if guard => handler` branch.
struct Branch {
    pat: Pat,
    future: Expr,
    guard: Option<Expr>,
    handler: Expr,
}

/// The whole input.
struct Select {
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Select> {
        let mut select = Select { biased: false, branches: Vec::new(), otherwise: None };
        if input.peek(Ident) && input.peek2(Token![;]) {
            let word: Ident = input.parse()?;
            if word != "biased" {
                return Err(Error::new(word.span(), "expected `biased;` or a branch"));
            }
            input.parse::<Token![;]>()?;
            select.biased = true;
        }
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let token: Token![else] = input.parse()?;
                if select.otherwise.is_some() {
                    return Err(Error::new(token.span, "select! takes one `else` branch"));
                }
                input.parse::<Token![=>]>()?;
                select.otherwise = Some(handler(input)?);
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let future: Expr = input.parse()?;
            let guard = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.parse()?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = handler(input)?;
            select.branches.push(Branch { pat, future, guard, handler });
        }
        if select.branches.is_empty() {
            return Err(Error::new(
                Span::call_site(),
                "select! needs at least one `pattern = future => handler` branch",
            ));
        }
        if select.branches.len() > MAX_BRANCHES {
            return Err(Error::new(Span::call_site(), format!("select! takes at most {MAX_BRANCHES} branches")));
        }
        Ok(select)
    }
}

/// A handler: a block (then an optional comma) or an expression (then a
/// comma, unless it is the last thing).
fn handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(token::Brace) {
        let content;
        let brace = braced!(content in input);
        let stmts = content.call(Block::parse_within)?;
        let _ = input.parse::<Option<Token![,]>>()?;
        return Ok(Expr::Block(ExprBlock {
            attrs: Vec::new(),
            label: None,
            block: Block { brace_token: brace, stmts },
        }));
    }
    let expr: Expr = input.parse()?;
    if !input.is_empty() {
        input.parse::<Token![,]>().map_err(|e| Error::new(e.span(), "expected `,` after a branch's handler"))?;
    }
    Ok(expr)
}

/// `pat` with `mut` and `ref` taken out of its bindings (and `mut` out of
/// its reference patterns), for the check on a reference to the value.
fn clean(pat: &mut Pat) {
    match pat {
        Pat::Ident(ident) => {
            ident.by_ref = None;
            ident.mutability = None;
            if let Some((_, sub)) = &mut ident.subpat {
                clean(sub);
            }
        }
        Pat::Or(or) => or.cases.iter_mut().for_each(clean),
        Pat::Paren(paren) => clean(&mut paren.pat),
        Pat::Reference(reference) => {
            reference.mutability = None;
            clean(&mut reference.pat);
        }
        Pat::Slice(slice) => slice.elems.iter_mut().for_each(clean),
        Pat::Struct(strukt) => strukt.fields.iter_mut().for_each(|field| clean(&mut field.pat)),
        Pat::Tuple(tuple) => tuple.elems.iter_mut().for_each(clean),
        Pat::TupleStruct(tuple) => tuple.elems.iter_mut().for_each(clean),
        Pat::Type(typed) => clean(&mut typed.pat),
        _ => {}
    }
}

/// `sprout::select! { ... }`.
pub(crate) fn select(input: TokenStream) -> syn::Result<TokenStream> {
    let Select { biased, branches, otherwise } = syn::parse2(input)?;
    let n = branches.len();
    let here = Span::mixed_site();
    let out = Ident::new("__SproutSelectOut", here);
    let disabled = Ident::new("__sprout_disabled", here);
    let cx = Ident::new("__sprout_cx", here);
    let index = Ident::new("__sprout_index", here);
    let value = Ident::new("__sprout_value", here);
    let result = Ident::new("__sprout_result", here);
    let variants: Vec<Ident> = (0..n).map(|i| format_ident!("_{}", i, span = here)).collect();
    let generics: Vec<Ident> = (0..n).map(|i| format_ident!("__T{}", i, span = here)).collect();
    let futures: Vec<Ident> = (0..n).map(|i| format_ident!("__sprout_future{}", i, span = here)).collect();
    let private = quote!(::sprout::__private);

    let guards = branches.iter().enumerate().filter_map(|(i, b)| {
        let guard = b.guard.as_ref()?;
        let bit = 1u64 << i;
        Some(quote!(if !(#guard) { #disabled |= #bit; }))
    });
    let pins = branches.iter().zip(&futures).map(|(b, f)| {
        let future = &b.future;
        quote!(let mut #f = ::core::pin::pin!(#future);)
    });
    let polls = branches.iter().enumerate().map(|(i, b)| {
        let (f, variant) = (&futures[i], &variants[i]);
        let bit = 1u64 << i;
        // `_` and a plain binding always match: no check to write.
        let check = match &b.pat {
            Pat::Wild(_) => None,
            Pat::Ident(ident) if ident.subpat.is_none() => None,
            pat => {
                let mut check = pat.clone();
                clean(&mut check);
                Some(quote! {
                    #[allow(unused_variables, unreachable_patterns)]
                    match &#value {
                        #check => {}
                        _ => return #private::Branch::Off,
                    }
                })
            }
        };
        quote! {
            #i => {
                if #disabled & #bit != 0 {
                    return #private::Branch::Off;
                }
                let #value = match ::core::future::Future::poll(#f.as_mut(), #cx) {
                    ::core::task::Poll::Ready(#value) => #value,
                    ::core::task::Poll::Pending => return #private::Branch::Pending,
                };
                #disabled |= #bit;
                #check
                #private::Branch::Ready(#out::#variant(#value))
            }
        }
    });
    let arms = branches.iter().zip(&variants).map(|(b, variant)| {
        let (pat, handler) = (&b.pat, &b.handler);
        quote!(::core::option::Option::Some(#out::#variant(#pat)) => #handler,)
    });
    let otherwise = match otherwise {
        Some(handler) => quote!(#handler),
        None => quote!(::core::panic!("select!: every branch is disabled and there is no `else` branch")),
    };

    Ok(quote! {{
        #[allow(non_camel_case_types)]
        enum #out<#(#generics),*> {
            #(#variants(#generics),)*
        }
        #[allow(unused_mut)]
        let mut #disabled: u64 = 0;
        #(#guards)*
        let #result = {
            #(#pins)*
            ::core::future::poll_fn(|#cx: &mut ::core::task::Context<'_>| {
                #private::select_poll(#n, #biased, |#index: usize| match #index {
                    #(#polls)*
                    _ => ::core::unreachable!(),
                })
            })
            .await
        };
        #[allow(unreachable_patterns, unused_variables)]
        let #result = match #result {
            #(#arms)*
            ::core::option::Option::None => #otherwise,
            _ => ::core::unreachable!("select!: the value matched its pattern when it was polled"),
        };
        #result
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(input: TokenStream) -> Result<String, String> {
        select(input).map(|t| t.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn branches_guards_handlers_and_else_parse() {
        let out = expand(quote! {
            biased;
            Some(mut x) = rx.get(), if open => { x += 1; }
            _ = sleep(d) => 2,
            else => 3
        })
        .unwrap();
        assert!(out.contains("if ! (open)"), "{out}");
        assert!(out.contains(":: core :: pin :: pin ! (rx . get ())"), "{out}");
        assert!(out.contains("select_poll (2usize , true ,"), "{out}");
        assert!(out.contains("Some (x) => { }"), "the check has no `mut`: {out}");
        assert!(out.contains("_0 (Some (mut x))) => { x += 1 ; }"), "the handler's match keeps it: {out}");
        assert_eq!(out.matches("match & __sprout_value").count(), 1, "`_` needs no check: {out}");
        let unbiased = expand(quote!(x = a => x, y = b => y)).unwrap();
        assert!(unbiased.contains("select_poll (2usize , false ,"), "{unbiased}");
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert!(expand(quote!()).unwrap_err().contains("at least one"));
        assert!(expand(quote!(else => 1)).unwrap_err().contains("at least one"));
        assert!(expand(quote!(x = a => x y = b => y)).unwrap_err().contains("expected `,`"));
        assert!(expand(quote!(unbiased; x = a => x)).unwrap_err().contains("biased"));
        assert!(expand(quote!(x = a => x, else => 1, else => 2)).unwrap_err().contains("one `else`"));
        let many: TokenStream = (0..65).map(|i| quote!(_ = f(#i) => (),)).collect();
        assert!(expand(many).unwrap_err().contains("at most 64"));
    }
}
