//! Typed accessors for C bitfields: `fn flags(&self) -> u8` and `fn set_flags(&mut self, v: u8)`.
//!
//! The struct keeps the bytes that hold its bitfields as opaque `__bitfield_N: [u8; n]` storage (Rust
//! has no bitfields); these methods read and write one field in them through
//! `oxbpf::skel::bitfield`, with the bit numbering of the object's byte order (fixed at generation
//! time, so the accessors are right for the bytes as the BPF program stored them, whatever the host).
//! Signed fields are sign-extended. The type walk that finds the fields lives in `types.rs`; this
//! file only turns its descriptors into tokens.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::types::ident;

/// What a bitfield's accessors take and return.
pub(crate) enum BitValue {
    /// `bool` (read as "any bit set").
    Bool,
    /// An integer type (`u8`..`i64`), sign-extended when `signed`.
    Int { ty: TokenStream, signed: bool },
    /// A generated enum newtype `ty(repr)`.
    Enum {
        ty: TokenStream,
        repr: TokenStream,
        signed: bool,
    },
}

/// One named bitfield member: absolute bit offset from the start of its struct, and width.
pub(crate) struct Bitfield {
    pub name: String,
    pub bit_offset: u32,
    pub width: u32,
    pub value: BitValue,
}

/// The `impl` block with a getter and a setter for each of `fields` of struct `owner` (nothing when
/// there are none). `big_endian` is the object's byte order.
pub(crate) fn accessors(owner: &syn::Ident, fields: &[Bitfield], big_endian: bool) -> TokenStream {
    if fields.is_empty() {
        return TokenStream::new();
    }
    let order = if big_endian {
        quote!(::oxbpf::skel::bitfield::Order::Big)
    } else {
        quote!(::oxbpf::skel::bitfield::Order::Little)
    };
    let methods = fields.iter().map(|f| {
        let get = ident(&f.name);
        let set = format_ident!("set_{}", get.to_string().trim_start_matches("r#"));
        let (off, width) = (f.bit_offset, f.width);
        let doc_get = format!(" Bitfield `{}`: {width} bits at bit {off}.", f.name);
        let doc_set = format!(
            " Stores the low {width} bits of `v` as bitfield `{}`.",
            f.name
        );
        let read = |signed: bool| {
            quote!(::oxbpf::skel::bitfield::get(
                ::oxbpf::skel::bytemuck::bytes_of(self), #off, #width, #signed, #order))
        };
        let write = |v: TokenStream| {
            quote!(::oxbpf::skel::bitfield::set(
                ::oxbpf::skel::bytemuck::bytes_of_mut(self), #off, #width, #v, #order))
        };
        let (ty, getter, setter) = match &f.value {
            BitValue::Bool => (
                quote!(bool),
                {
                    let r = read(false);
                    quote!(#r != 0)
                },
                write(quote!(v as u64)),
            ),
            BitValue::Int { ty, signed } => {
                let r = read(*signed);
                (ty.clone(), quote!(#r as #ty), write(quote!(v as u64)))
            }
            BitValue::Enum { ty, repr, signed } => {
                let r = read(*signed);
                (
                    ty.clone(),
                    quote!(#ty(#r as #repr)),
                    write(quote!(v.0 as u64)),
                )
            }
        };
        quote! {
            #[doc = #doc_get]
            #[inline]
            pub fn #get(&self) -> #ty { #getter }
            #[doc = #doc_set]
            #[inline]
            pub fn #set(&mut self, v: #ty) { #setter; }
        }
    });
    quote! {
        impl #owner { #(#methods)* }
    }
}
