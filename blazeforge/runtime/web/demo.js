// blazeforge serve-demo: a landmark export on LiteRT.js, tracked as MediaPipe's landmark graphs
// track without a detector (runtime/web_demo.py says how). The geometry is geometry/roi.py's,
// written again for the browser; the browser test holds it to the Python runtime (web_demo.track).
import {loadLiteRt, loadAndCompile, Tensor} from "@litertjs/core";

const $ = (id) => document.getElementById(id);
const spec = await (await fetch("/demo.json")).json();
$("title").textContent = `blazeforge demo: ${spec.role} (${spec.model})`;
await loadLiteRt("/vendor/@litertjs/core/wasm/");
const model = await loadAndCompile(`/${spec.model}`, {accelerator: "wasm"});
const outputNames = model.getOutputDetails().map((d) => d.name);
const outputIndex = (name) => {
  const i = outputNames.indexOf(name);
  if (i < 0) throw new Error(`${spec.model} has no output ${name} (it has ${outputNames.join(", ")})`);
  return i;
};
const landmarksAt = outputIndex(spec.landmarks);
const scoreAt = spec.score === null ? -1 : outputIndex(spec.score);
const heatmapAt = spec.heatmap === null ? -1 : outputIndex(spec.heatmap);
const heatmapShape = heatmapAt < 0 ? null : Array.from(model.getOutputDetails()[heatmapAt].shape).slice(1);

// ---- geometry/roi.py ----------------------------------------------------------------------------
const normalizeRadians = (a) => a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
const rotationFromPoints = (start, end, target = Math.PI / 2) =>
  normalizeRadians(target - Math.atan2(-(end[1] - start[1]), end[0] - start[0]));

function transformed(roi, scale, shiftY = 0) {
  const c = Math.cos(roi.rotation), s = Math.sin(roi.rotation);
  const dy = roi.height * shiftY;
  const side = Math.max(roi.width, roi.height);
  return {cx: roi.cx - s * dy, cy: roi.cy + c * dy, width: side * scale, height: side * scale, rotation: roi.rotation};
}

function rotatedBounds(xy, rotation) {
  const min = [Infinity, Infinity], max = [-Infinity, -Infinity];
  for (const p of xy) for (const k of [0, 1]) { min[k] = Math.min(min[k], p[k]); max[k] = Math.max(max[k], p[k]); }
  const center = [(min[0] + max[0]) / 2, (min[1] + max[1]) / 2];
  const c = Math.cos(rotation), s = Math.sin(rotation);
  const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  for (const p of xy) {
    const dx = p[0] - center[0], dy = p[1] - center[1];
    const local = [c * dx + s * dy, -s * dx + c * dy];
    for (const k of [0, 1]) { lo[k] = Math.min(lo[k], local[k]); hi[k] = Math.max(hi[k], local[k]); }
  }
  const mid = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2];
  return {
    cx: center[0] + c * mid[0] - s * mid[1], cy: center[1] + s * mid[0] + c * mid[1],
    width: hi[0] - lo[0], height: hi[1] - lo[1], rotation,
  };
}

const HAND_SUBSET = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];
function handRoi(xy) {  // hand_roi: wrist -> fingers up, bounds of the subset, shifted, x2
  const fingers = [0, 1].map((k) => ((xy[5][k] + xy[13][k]) / 2 + xy[9][k]) / 2);
  const rotation = rotationFromPoints(xy[0], fingers);
  return transformed(rotatedBounds(HAND_SUBSET.map((i) => xy[i]), rotation), 2.0, -0.1);
}

function faceRoi(xy) {  // face_roi: axis-aligned bounds, 33 -> 133 level, x1.5
  const rotation = rotationFromPoints(xy[33], xy[133], 0);
  const xs = xy.map((p) => p[0]), ys = xy.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  return transformed({cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, width: x1 - x0, height: y1 - y0, rotation}, 1.5);
}
function poseRoi(xy) {  // pose_roi: alignment_roi from the hip centre (33) to the scale point (34), x1.25
  const [center, end] = [xy[33], xy[34]];
  const rotation = rotationFromPoints(center, end);
  const side = 2 * Math.hypot(end[0] - center[0], end[1] - center[1]);
  return transformed({cx: center[0], cy: center[1], width: side, height: side, rotation}, 1.25);
}
const RULES = {hand: handRoi, face: faceRoi, pose: poseRoi};

// geometry/heatmaps.py: around each point (crop pixels), a 7 x 7 window of its heatmap (after the
// sigmoid) votes; where the strongest vote reaches 0.5 the point moves to the votes' weighted mean.
function refineFromHeatmap(points, heatmap, [h, w, k], size, kernel = 7, minConfidence = 0.5) {
  const offset = (kernel - 1) / 2;
  for (let i = 0; i < Math.min(points.length, k); i++) {
    const col = Math.trunc((points[i][0] / size) * w), row = Math.trunc((points[i][1] / size) * h);
    if (!(col >= 0 && col < w && row >= 0 && row < h)) continue;
    let total = 0, best = 0, sx = 0, sy = 0;
    for (let r = Math.max(0, row - offset); r < Math.min(h, row + offset + 1); r++) {
      for (let c = Math.max(0, col - offset); c < Math.min(w, col + offset + 1); c++) {
        const confidence = 1 / (1 + Math.exp(-heatmap[(r * w + c) * k + i]));
        total += confidence;
        best = Math.max(best, confidence);
        sx += c * confidence;
        sy += r * confidence;
      }
    }
    if (best >= minConfidence && total > 0) points[i] = [(sx / total / w) * size, (sy / total / h) * size];
  }
}

function letterboxRoi(width, height) {
  const side = Math.max(width, height);
  return {cx: width / 2, cy: height / 2, width: side, height: side, rotation: 0};
}

function cropMatrix(roi, size) {  // crop pixels (u, v) -> image pixels: [a00, a01, t0, a10, a11, t1]
  const c = Math.cos(roi.rotation), s = Math.sin(roi.rotation);
  const a = [c * roi.width / size, -s * roi.height / size, s * roi.width / size, c * roi.height / size];
  return [a[0], a[1], roi.cx - (a[0] + a[1]) * size / 2, a[2], a[3], roi.cy - (a[2] + a[3]) * size / 2];
}

// crop_tensor: crop index (u, v) samples image pixel index M (u, v), bilinear, edge pixels outside,
// to uint8 and then to the value range. It is OpenCV's warpAffine (WARP_INVERSE_MAP, INTER_LINEAR,
// BORDER_REPLICATE) step by step: coordinates in 1/32 pixel from 10-bit fixed point, weights in
// 1/32768, the sum rounded to uint8; so the page feeds the model the tensor the runtime feeds it.
const roundEven = (x) => {  // cvRound: to the nearest integer, halves to even
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
function cropTensor(rgba, width, height, roi, size, [lo, hi]) {
  const m = cropMatrix(roi, size), out = new Float32Array(size * size * 3), k = Math.fround((hi - lo) / 255);
  const adelta = new Int32Array(size), bdelta = new Int32Array(size);
  for (let u = 0; u < size; u++) [adelta[u], bdelta[u]] = [roundEven(m[0] * u * 1024), roundEven(m[3] * u * 1024)];
  const clampX = (x) => Math.min(Math.max(x, 0), width - 1), clampY = (y) => Math.min(Math.max(y, 0), height - 1);
  for (let v = 0; v < size; v++) {
    const x0 = roundEven((m[1] * v + m[2]) * 1024) + 16, y0 = roundEven((m[4] * v + m[5]) * 1024) + 16;
    for (let u = 0; u < size; u++) {
      const X = (x0 + adelta[u]) >> 5, Y = (y0 + bdelta[u]) >> 5;
      const sx = X >> 5, sy = Y >> 5, fx = X & 31, fy = Y & 31;
      const w0 = (32 - fx) * (32 - fy) * 32, w1 = fx * (32 - fy) * 32, w2 = (32 - fx) * fy * 32, w3 = fx * fy * 32;
      const xa = clampX(sx), xb = clampX(sx + 1), ya = clampY(sy), yb = clampY(sy + 1);
      const o = (v * size + u) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const sum = rgba[(ya * width + xa) * 4 + ch] * w0 + rgba[(ya * width + xb) * 4 + ch] * w1 +
          rgba[(yb * width + xa) * 4 + ch] * w2 + rgba[(yb * width + xb) * 4 + ch] * w3;
        out[o + ch] = Math.min(255, (sum + 16384) >> 15) * k + lo;
      }
    }
  }
  return out;
}

// ---- one frame: crop, run, project back, the next ROI ---------------------------------------------
let nextRoi = null;
async function step(rgba, width, height) {
  const roi = nextRoi || letterboxRoi(width, height);
  const size = spec.input_size;
  const input = new Tensor(cropTensor(rgba, width, height, roi, size, spec.value_range), [1, size, size, 3]);
  const start = performance.now();
  const outputs = await model.run([input]);
  const ms = performance.now() - start;
  input.delete();
  const raw = outputs[landmarksAt].toTypedArray();
  let score = scoreAt < 0 ? 1 : outputs[scoreAt].toTypedArray()[0];
  if (spec.score_is_logit) score = 1 / (1 + Math.exp(-score));
  const crop = [];  // every point the model gives (BlazePose: 33, the 2 auxiliary ones, more), crop pixels
  for (let i = 0; i < raw.length / spec.values; i++) crop.push([raw[i * spec.values], raw[i * spec.values + 1]]);
  if (heatmapAt >= 0) refineFromHeatmap(crop, outputs[heatmapAt].toTypedArray(), heatmapShape, size);
  for (const t of outputs) t.delete();
  const m = cropMatrix(roi, size);
  const points = crop.map(([u, v]) => [m[0] * u + m[1] * v + m[2], m[3] * u + m[4] * v + m[5]]);
  const found = score >= spec.min_presence;
  nextRoi = found ? RULES[spec.rule](points) : null;
  return {score, landmarks: found ? points.slice(0, spec.keep) : null, roi, ms};
}

// ---- drawing ------------------------------------------------------------------------------------
const canvas = $("view"), context = canvas.getContext("2d", {willReadFrequently: true});
function draw(result) {
  const {roi} = result;
  const corners = [[0, 0], [1, 0], [1, 1], [0, 1]].map(([u, v]) => {
    const m = cropMatrix(roi, 1);
    return [m[0] * u + m[1] * v + m[2], m[3] * u + m[4] * v + m[5]];
  });
  context.strokeStyle = "rgba(255, 200, 0, 0.8)";
  context.lineWidth = 1;
  context.beginPath();
  corners.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
  context.closePath();
  context.stroke();
  if (!result.landmarks) return;
  const p = result.landmarks;
  context.strokeStyle = "rgb(0, 220, 90)";
  context.lineWidth = 2;
  for (const [a, b] of spec.edges) {
    context.beginPath();
    context.moveTo(p[a][0], p[a][1]);
    context.lineTo(p[b][0], p[b][1]);
    context.stroke();
  }
  context.fillStyle = "rgb(230, 40, 40)";
  for (const [x, y] of p) context.fillRect(x - 1.5, y - 1.5, 3, 3);
}

const video = $("video");
const frameTimes = [];

// The video's current frame as RGBA pixels (drawn onto the page's canvas).
function capture() {
  const width = video.videoWidth, height = video.videoHeight;
  if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
  context.drawImage(video, 0, 0, width, height);
  return context.getImageData(0, 0, width, height).data;
}

async function process(rgba) {
  const result = await step(rgba, canvas.width, canvas.height);
  draw(result);
  const now = performance.now();
  frameTimes.push(now);
  while (frameTimes.length > 1 && now - frameTimes[0] > 1000) frameTimes.shift();
  const fps = frameTimes.length > 1 ? (frameTimes.length - 1) / ((now - frameTimes[0]) / 1000) : 0;
  $("fps").textContent = `${fps.toFixed(1)} fps`;
  $("status").textContent = `model ${result.ms.toFixed(1)} ms; presence ${result.score.toFixed(2)}`;
  return result;
}

// Frame `index` of the served video, captured once the browser presents it: right after a seek
// the element may still show the frame before (seen under load). Its requestVideoFrameCallback
// says which frame it presents (Chromium presents one after every seek, within the frame shown
// too); where none comes within 2 s of the seek, the frame is captured as it is and counted late.
function frameAt(index, facts) {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(capture()); } };
    const presented = (now, meta) => {
      if (done) return;
      if (Math.round(meta.mediaTime * facts.fps) === index) finish();
      else video.requestVideoFrameCallback(presented);
    };
    video.requestVideoFrameCallback(presented);
    video.addEventListener("seeked", () => setTimeout(() => {
      if (!done) { window.demo.late += 1; finish(); }
    }, 2000), {once: true});
    video.currentTime = (index + 0.5) / facts.fps;
  });
}

// Frame `index` of the served video as the page decodes it: a PNG data URL (the test runs the
// Python runtime on these very pixels too).
async function decoded(index) {
  await frameAt(index, spec.video);
  return canvas.toDataURL("image/png");
}

// The served video: every frame in order, the results kept for the test.
async function everyFrame(facts) {
  video.src = `/${facts.name}`;
  await new Promise((resolve) => video.addEventListener("loadeddata", resolve, {once: true}));
  nextRoi = null;
  const results = [];
  for (let i = 0; i < facts.frames; i++) {
    const {score, landmarks, roi} = await process(await frameAt(i, facts));
    results.push({frame: i, score, landmarks, roi});
  }
  window.demo.results = results;
  window.demo.done = true;
  $("status").textContent += `; ${results.length} frames done`;
}

// A picked file or the webcam: each frame the browser presents, while it plays.
function live(source) {
  nextRoi = null;
  if (source instanceof MediaStream) video.srcObject = source;
  else video.src = source;
  video.loop = !(source instanceof MediaStream);
  video.play();
  const next = () => video.requestVideoFrameCallback(async () => { await process(capture()); next(); });
  next();
}

$("file").addEventListener("change", (e) => e.target.files[0] && live(URL.createObjectURL(e.target.files[0])));
$("camera").addEventListener("click", async () => live(await navigator.mediaDevices.getUserMedia({video: true})));

window.demo = {spec, decoded, done: false, results: null, late: 0};
$("status").textContent = "ready: pick a video file or the webcam";
if (spec.video) everyFrame(spec.video);
