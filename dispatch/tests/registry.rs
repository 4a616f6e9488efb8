//! Registry behaviour: classes, chains, lookup, reflection, errors.

use std::ptr;

use tt_dispatch::{ClassId, DispatchError, Registry, Sel, Side, intern, selector_name};

type Reg = Registry<&'static str>;

fn names(v: &[&'static tt_dispatch::Method<&'static str>]) -> Vec<String> {
    v.iter()
        .map(|m| selector_name(m.selector).unwrap().to_string())
        .collect()
}

#[test]
fn ids_are_dense_and_stable_per_name() {
    let reg = Reg::new();
    let a = reg.define_class("A", None);
    let b = reg.define_class("B", Some("A"));
    assert_eq!((a, b), (ClassId(0), ClassId(1)));
    assert_eq!(reg.define_class("A", Some("")), a);
    assert_eq!(reg.class_id("A"), Some(a));
    assert_eq!(reg.class_id("Nope"), None);
    assert_eq!(reg.class_name(b).as_deref(), Some("B"));
    assert_eq!(reg.class_name(ClassId(99)), None);
    // Removal: the name no longer resolves; defining it again reuses the id.
    reg.remove_class(a);
    assert_eq!(reg.class_id("A"), None);
    assert_eq!(reg.class_name(a), None);
    assert_eq!(reg.classes(), vec![(b, "B".into())]);
    assert_eq!(
        reg.superclass(b),
        None,
        "a removed superclass does not resolve"
    );
    assert_eq!(
        reg.superclass_name(b).as_deref(),
        Some("A"),
        "the declaration stays"
    );
    assert_eq!(reg.define_class("A", None), a);
    assert_eq!(reg.superclass(b), Some(a));
    let c = reg.define_class("C", None);
    assert_eq!(c, ClassId(2));
    assert_eq!(reg.classes().len(), 3);
}

#[test]
fn inherit_and_override_along_the_chain() {
    let reg = Reg::new();
    let object = reg.define_class("Object", None);
    let animal = reg.define_class("Animal", Some("Object"));
    let dog = reg.define_class("Dog", Some("Animal"));
    let (speak, name, describe) = (
        intern("regTest_speak"),
        intern("regTest_name"),
        intern("regTest_describe"),
    );
    let obj_describe = reg.add_method(object, Side::Instance, describe, "Object>>describe");
    reg.add_method(animal, Side::Instance, speak, "Animal>>speak");
    reg.add_method(animal, Side::Instance, name, "Animal>>name");
    let dog_speak = reg.add_method(dog, Side::Instance, speak, "Dog>>speak");
    assert!(ptr::eq(
        reg.lookup(dog, Side::Instance, speak).unwrap(),
        dog_speak
    ));
    assert_eq!(
        reg.lookup(dog, Side::Instance, name).unwrap().imp,
        "Animal>>name"
    );
    assert!(ptr::eq(
        reg.lookup(dog, Side::Instance, describe).unwrap(),
        obj_describe
    ));
    assert_eq!(
        reg.lookup(animal, Side::Instance, speak).unwrap().imp,
        "Animal>>speak"
    );
    assert!(reg.lookup(object, Side::Instance, speak).is_none());
    assert!(
        reg.lookup(dog, Side::Instance, intern("regTest_unknown"))
            .is_none()
    );
    assert!(reg.lookup(ClassId(1234), Side::Instance, speak).is_none());
    let m = reg.lookup(dog, Side::Instance, name).unwrap();
    assert_eq!(
        (m.owner, m.side, m.selector),
        (animal, Side::Instance, name)
    );
    assert_eq!(reg.superclass_chain(dog), vec![dog, animal, object]);
    assert_eq!(reg.superclass(dog), Some(animal));
    assert_eq!(reg.superclass(object), None);
}

#[test]
fn class_side_and_instance_side_are_separate() {
    let reg = Reg::new();
    let a = reg.define_class("A", None);
    let b = reg.define_class("B", Some("A"));
    let new = intern("regTest_new");
    reg.add_method(a, Side::Class, new, "A class>>new");
    assert_eq!(reg.lookup(b, Side::Class, new).unwrap().imp, "A class>>new");
    assert!(reg.lookup(b, Side::Instance, new).is_none());
    assert_eq!(reg.lookup(b, Side::Class, new).unwrap().side, Side::Class);
    reg.add_method(b, Side::Instance, new, "B>>new");
    assert_eq!(reg.lookup(b, Side::Class, new).unwrap().imp, "A class>>new");
    assert_eq!(reg.lookup(b, Side::Instance, new).unwrap().imp, "B>>new");
}

#[test]
fn superclass_registered_after_subclass() {
    let reg = Reg::new();
    let b = reg.define_class("B", Some("A"));
    let sel = intern("regTest_late");
    assert_eq!(reg.superclass(b), None);
    assert_eq!(reg.superclass_name(b).as_deref(), Some("A"));
    assert!(reg.lookup(b, Side::Instance, sel).is_none());
    let a = reg.define_class("A", None);
    reg.add_method(a, Side::Instance, sel, "A>>late");
    assert_eq!(reg.superclass(b), Some(a));
    assert_eq!(reg.lookup(b, Side::Instance, sel).unwrap().imp, "A>>late");
}

#[test]
fn cycles_are_safe() {
    let reg = Reg::new();
    let a = reg.define_class("A", Some("C"));
    let b = reg.define_class("B", Some("A"));
    let c = reg.define_class("C", Some("B"));
    let selfish = reg.define_class("Selfish", Some("Selfish"));
    let sel = intern("regTest_cycle");
    assert!(reg.lookup(a, Side::Instance, sel).is_none());
    assert!(reg.lookup(selfish, Side::Class, sel).is_none());
    reg.add_method(b, Side::Instance, sel, "B");
    assert_eq!(reg.lookup(c, Side::Instance, sel).unwrap().imp, "B");
    assert_eq!(reg.lookup(a, Side::Instance, sel).unwrap().imp, "B");
    assert_eq!(reg.superclass_chain(a), vec![a, c, b]);
    assert_eq!(reg.superclass_chain(selfish), vec![selfish]);
    assert_eq!(reg.methods(a, Side::Instance).len(), 1);
    let site = tt_dispatch::SendCache::new(intern("regTest_cycle_missing"));
    assert!(site.lookup(&reg, a, Side::Instance).is_none());
}

#[test]
fn methods_lists_each_selector_once_sorted() {
    let reg = Reg::new();
    let a = reg.define_class("A", None);
    let b = reg.define_class("B", Some("A"));
    let (zeta, alpha, mid) = (
        intern("regTest_zeta"),
        intern("regTest_alpha:"),
        intern("regTest_mid"),
    );
    reg.add_method(a, Side::Instance, zeta, "A>>zeta");
    reg.add_method(a, Side::Instance, alpha, "A>>alpha");
    reg.add_method(b, Side::Instance, zeta, "B>>zeta");
    reg.add_method(b, Side::Instance, mid, "B>>mid");
    reg.add_method(b, Side::Class, mid, "B class>>mid");
    let all = reg.methods(b, Side::Instance);
    assert_eq!(
        names(&all),
        ["regTest_alpha_", "regTest_mid", "regTest_zeta"]
    );
    assert_eq!(
        all.iter().map(|m| m.imp).collect::<Vec<_>>(),
        ["A>>alpha", "B>>mid", "B>>zeta"]
    );
    assert_eq!(
        names(&reg.own_methods(b, Side::Instance)),
        ["regTest_mid", "regTest_zeta"]
    );
    assert_eq!(
        names(&reg.own_methods(a, Side::Instance)),
        ["regTest_alpha_", "regTest_zeta"]
    );
    assert_eq!(names(&reg.methods(b, Side::Class)), ["regTest_mid"]);
    assert!(reg.methods(ClassId(77), Side::Instance).is_empty());
}

#[test]
fn redefinition_clears_both_dictionaries() {
    let reg = Reg::new();
    let a = reg.define_class("A", None);
    let sel = intern("regTest_clear");
    reg.add_method(a, Side::Instance, sel, "i");
    reg.add_method(a, Side::Class, sel, "c");
    reg.define_class("A", Some("Object"));
    assert!(reg.own_methods(a, Side::Instance).is_empty());
    assert!(reg.own_methods(a, Side::Class).is_empty());
    assert_eq!(reg.superclass_name(a).as_deref(), Some("Object"));
    reg.set_methods(a, Side::Instance, vec![(sel, "first"), (sel, "last")]);
    assert_eq!(reg.lookup(a, Side::Instance, sel).unwrap().imp, "last");
}

#[test]
fn every_change_moves_the_epoch() {
    let reg = Reg::new();
    let sel = intern("regTest_epoch");
    let mut seen = vec![reg.epoch()];
    let mut check = |reg: &Reg| {
        let e = reg.epoch();
        assert!(e > *seen.last().unwrap(), "epoch must increase");
        seen.push(e);
    };
    let a = reg.define_class("A", None);
    check(&reg);
    reg.add_method(a, Side::Instance, sel, "x");
    check(&reg);
    reg.set_methods(a, Side::Class, vec![(sel, "y")]);
    check(&reg);
    reg.set_superclass(a, Some("Z"));
    check(&reg);
    reg.define_class("A", None);
    check(&reg);
    reg.remove_class(a);
    check(&reg);
    // Refused changes leave it alone.
    let e = reg.epoch();
    reg.set_superclass(a, None);
    reg.add_method(ClassId(50), Side::Instance, sel, "nowhere");
    reg.remove_class(a);
    assert_eq!(reg.epoch(), e);
    assert_ne!(Reg::new().epoch(), e, "epochs are unique across registries");
    assert!(reg.epoch() != 0);
}

#[test]
fn fallible_variants_report_errors() {
    let reg = Reg::new();
    assert_eq!(
        reg.try_define_class("", None),
        Err(DispatchError::EmptyClassName)
    );
    let a = reg.define_class("A", None);
    let sel = intern("regTest_errors");
    let ghost = ClassId(40);
    assert_eq!(
        reg.try_set_superclass(ghost, None),
        Err(DispatchError::UnknownClass(ghost))
    );
    let err = reg
        .try_add_method(ghost, Side::Instance, sel, "x")
        .unwrap_err();
    assert_eq!(err, (DispatchError::UnknownClass(ghost), "x"));
    let err = reg
        .try_add_method(a, Side::Instance, Sel::INVALID, "x")
        .unwrap_err();
    assert_eq!(err.0, DispatchError::InvalidSelector(Sel::INVALID));
    let bogus = Sel(u32::MAX - 1);
    assert_eq!(
        reg.try_set_methods(a, Side::Instance, vec![(sel, "ok"), (bogus, "bad")]),
        Err(DispatchError::InvalidSelector(bogus))
    );
    assert!(
        reg.lookup(a, Side::Instance, sel).is_none(),
        "a refused set_methods changes nothing"
    );
    assert_eq!(
        DispatchError::UnknownClass(ghost).to_string(),
        "unknown class: id 40"
    );
    // The infallible add_method still returns a record, reachable by no lookup.
    let m = reg.add_method(ghost, Side::Instance, sel, "orphan");
    assert_eq!(m.imp, "orphan");
    assert!(reg.lookup(ghost, Side::Instance, sel).is_none());
    assert!(reg.try_add_method(a, Side::Instance, sel, "fine").is_ok());
}

#[test]
#[should_panic(expected = "invalid class name")]
fn define_class_with_an_empty_name_panics() {
    Reg::new().define_class("", None);
}

#[test]
fn registry_is_shareable_across_threads() {
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<Reg>();
    assert_sync::<tt_dispatch::SendCache<&'static str>>();
}
