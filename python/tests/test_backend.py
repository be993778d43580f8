import eclip


def test_sim_topology(sim):
    t = sim.topology
    assert (t.name, t.units, t.groups, t.max_masked_streams, t.vendor) == ("H100", 132, 16, 15, "nvidia")


def test_size_classes_come_from_the_library(sim):
    assert [(c.groups, c.units) for c in sim.size_classes()] == [(1, 8), (2, 16), (4, 32), (8, 64), (16, 132)]
    with eclip.Backend("sim:mi50") as mi50:
        assert [(c.groups, c.units) for c in mi50.size_classes()] == [(1, 15), (2, 30), (3, 45), (4, 60)]


def test_versions(lib):
    assert eclip.abi_version() == eclip.ABI_VERSION == 3
    assert eclip.version().count(".") == 2


def test_unknown_backend_names_the_spec(lib):
    try:
        eclip.Backend("tpu")
    except eclip.EclipError as e:
        assert e.code == 1 and e.status == "invalid_argument" and "tpu" in e.message
    else:
        raise AssertionError("an unknown backend spec must fail")


def test_closed_handle_is_refused(lib):
    be = eclip.Backend("sim")
    be.close()
    be.close()  # twice is fine
    try:
        be.handle
    except ValueError as e:
        assert "closed" in str(e)
    else:
        raise AssertionError("a closed backend must refuse use")
