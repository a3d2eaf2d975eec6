/**
 * WGSL helpers for (key, index) maxima, ordered by key descending then index ascending:
 * - `order_key(bits)`: a u32 that orders f32 bit patterns as their values (−0 as +0), NaN lowest (0).
 * - `better(a, b)`: whether pair a ranks above pair b.
 * - `workgroup_best(key, index, lid, sg_size, sg_lane) -> vec2u`: the best pair of a workgroup of `size`
 *   invocations, returned to all; call in uniform control flow. An invocation with nothing to offer passes
 *   (0, 0xffffffff), which ranks below every real pair (a NaN has key 0 but a real index).
 */
export function workgroupBestWgsl(size: number, subgroups: boolean): string {
  const common = /* wgsl */ `
fn order_key(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  let b = select(bits, 0u, bits == 0x80000000u);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn better(a: vec2u, b: vec2u) -> bool {
  return a.x > b.x || (a.x == b.x && a.y < b.y);
}
`;
  if (subgroups) {
    return /* wgsl */ `${common}
var<workgroup> best_partials: array<vec2u, ${Math.max(1, size / 4)}>;
fn workgroup_best(key: u32, index: u32, lid: u32, sg_size: u32, sg_lane: u32) -> vec2u {
  let top = subgroupMax(key);
  let lowest = subgroupMin(select(0xffffffffu, index, key == top));
  workgroupBarrier();
  if (sg_lane == 0u) { best_partials[lid / sg_size] = vec2u(top, lowest); }
  workgroupBarrier();
  let count = (${size}u + sg_size - 1u) / sg_size;
  var best = best_partials[0];
  for (var i = 1u; i < count; i++) {
    let candidate = best_partials[i];
    if (better(candidate, best)) { best = candidate; }
  }
  return best;
}
`;
  }
  return /* wgsl */ `${common}
var<workgroup> best_scratch: array<vec2u, ${size}>;
fn workgroup_best(key: u32, index: u32, lid: u32, sg_size: u32, sg_lane: u32) -> vec2u {
  workgroupBarrier();
  best_scratch[lid] = vec2u(key, index);
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride && better(best_scratch[lid + stride], best_scratch[lid])) { best_scratch[lid] = best_scratch[lid + stride]; }
    workgroupBarrier();
  }
  return best_scratch[0];
}
`;
}
