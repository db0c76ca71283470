-- The money functions run the same statements on every call with different arrays. Left to choose,
-- PostgreSQL re-plans each of them on every call (a custom plan looks cheaper than the generic
-- one for array arguments), which cost about 80 us of a single-request hold's 420 us. The generic
-- plans use the indexes the statements are written for (checked with EXPLAIN).
alter function place_holds set plan_cache_mode = force_generic_plan;
alter function post_settlements set plan_cache_mode = force_generic_plan;
alter function release_holds set plan_cache_mode = force_generic_plan;
