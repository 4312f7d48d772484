//! `StarFn`: call a function with a tuple's elements as its arguments.

/// A function that [`starmap`](super::Pool::starmap) can call with a tuple's
/// elements as separate arguments, as Python's `starmap(f, [(a, b), ...])`
/// calls `f(a, b)`.
///
/// Implemented for every `FnMut` of up to eight arguments, with the tuple
/// of those argument types.
///
/// ```
/// use sprout::pool::StarFn;
///
/// let mut add = |a: i32, b: i32| a + b;
/// assert_eq!(add.call_star((2, 3)), 5);
/// ```
pub trait StarFn<Args> {
    /// What the function returns.
    type Output;

    /// Calls the function with the tuple's elements.
    fn call_star(&mut self, args: Args) -> Self::Output;
}

macro_rules! star_fn {
    ($($arg:ident),*) => {
        impl<Func, R, $($arg),*> StarFn<($($arg,)*)> for Func
        where
            Func: FnMut($($arg),*) -> R,
        {
            type Output = R;

            #[allow(non_snake_case)]
            fn call_star(&mut self, ($($arg,)*): ($($arg,)*)) -> R {
                self($($arg),*)
            }
        }
    };
}

star_fn!();
star_fn!(A);
star_fn!(A, B);
star_fn!(A, B, C);
star_fn!(A, B, C, D);
star_fn!(A, B, C, D, E);
star_fn!(A, B, C, D, E, G);
star_fn!(A, B, C, D, E, G, H);
star_fn!(A, B, C, D, E, G, H, J);
