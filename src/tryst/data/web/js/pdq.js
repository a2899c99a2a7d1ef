// PDQ perceptual hashes and SHA-256 of images, computed in the browser, so a person can
// protect their own images without uploading them: only the hashes leave the device
// (POST /api/v1/protect, docs/safety.md "Hash banks against re-sharing").
//
// PDQ is Facebook's algorithm, ported line by line from the reference C++ in
// facebook/ThreatExchange (pdq/cpp/hashing/pdqhashing.cpp, downscaling/downscaling.cpp,
// hashing/torben.cpp), in the same float32 arithmetic (every step through Math.fround or
// a Float32Array): luma, two passes of a Jarosz box filter along rows then columns,
// decimation to 64x64, the image-domain quality metric, the 64 -> 16 DCT, and one bit per
// coefficient above the median. Given the same RGB pixels, pdqFromImageData gives the
// same bits and quality as the server's pdqhash.
//
// Which pixels: the server (src/tryst/media/pdq.py) hashes the upright image (EXIF
// orientation applied, first frame, no colour management) shrunk with Pillow's BILINEAR
// filter so its long side is at most 512 px. hashFile does the same steps in the same
// order: createImageBitmap with imageOrientation "from-image" and colorSpaceConversion
// "none", then a port of Pillow's resampling (libImaging/Resample.c, integer
// coefficients and all) to the same size, rounded as Python's round() does.
//
// Why the hash can still differ by a few bits from the server's:
// - the decoder: the browser's JPEG/PNG/WebP/GIF decoder is not Pillow's, and JPEG
//   decoders may differ by a unit here and there (chroma upsampling, IDCT). Chromium's
//   and Pillow's libjpeg-turbo agree exactly on the test images (tests/test_web_pdq.py);
// - very large images (more than MAX_CANVAS_PIXELS) are first shrunk by the browser's
//   decoder to keep memory bounded, which is not Pillow's filter (2 bits in the tests);
// - transparency: a 2D canvas stores premultiplied alpha, so it loses the colour of
//   fully transparent pixels, which the server hashes as they are when it does not
//   shrink the image; such small images are read through WebGL instead, and without
//   WebGL they can differ by ~30 bits. Larger ones Pillow shrinks premultiplied, as
//   here. A PNG over 512 px with a transparent colour key (tRNS), which Pillow treats
//   as opaque, can still differ;
// - Pillow's version: the port follows Pillow 13's resampling, which passes images more
//   than 2:1 tall vertically first; older Pillow went horizontal first (a unit in some
//   pixels, a bit or two at most);
// - a browser that rejects the decoding options falls back to its defaults.
// That is fine: a bank matches at Hamming distance 31 or less (ThreatExchange's
// constant), and different images are ~128 bits apart, so a few bits of resampling
// noise neither misses a copy nor makes a false match. The SHA-256 is of the file's
// raw bytes, so it matches only byte-identical copies, exactly as on the server.
//
// No dependencies, nothing fetched: works in a page or a worker under CSP 'self'.

export const MAX_SIDE = 512; // tryst.media.pdq.MAX_SIDE
export const MATCH_THRESHOLD = 31; // ThreatExchange's PDQ_CONFIDENT_MATCH_THRESHOLD
export const MIN_QUALITY = 50; // below this PDQ says the hash is not worth matching
export const MAX_CANVAS_PIXELS = 4096 * 4096; // Safari's canvas area limit
const PRE_SHRINK_SIDE = 2048; // above MAX_CANVAS_PIXELS the decoder shrinks to this first

const f32 = Math.fround;

// ---------------------------------------------------------------- the whole file

/** The PDQ hash, its quality and the SHA-256 of an image file (a File or Blob), as the
 *  server would compute them: {pdq: 64 hex digits, quality: 0-100, sha256: 64 hex}. */
export async function hashFile(file) {
  const [sha256, pixels] = await Promise.all([
    file.arrayBuffer().then(sha256Hex),
    uprightPixels(file),
  ]);
  const { hash, quality } = pdqFromImageData(pixels);
  return { pdq: hash, quality, sha256 };
}

/** The SHA-256 of bytes (an ArrayBuffer or typed array) as 64 hex digits. Uses Web
 *  Crypto where there is one (secure contexts only: HTTPS or localhost), else sha256Js. */
export async function sha256Hex(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (subtle) {
    return toHex(new Uint8Array(await subtle.digest("SHA-256", bytes)));
  }
  return sha256Js(bytes);
}

// ---------------------------------------------------------------- decoding and resizing

/** The image's pixels as the server hashes them: upright, first frame, shrunk with
 *  Pillow's BILINEAR filter to at most MAX_SIDE on the long side. An ImageData-like
 *  {width, height, data: RGBA bytes}. */
export async function uprightPixels(blob) {
  const bitmap = await decode(blob);
  const width = bitmap.width;
  const height = bitmap.height;
  const [outW, outH] = targetSize(width, height);
  let pixels;
  try {
    if (width * height <= MAX_CANVAS_PIXELS) {
      pixels = readPixels(bitmap, width, height);
      if (outW === width && outH === height && hasTransparency(pixels.data)) {
        // Not shrunk: the server reads the colours under transparent pixels as they
        // are, which a 2D canvas loses (it stores premultiplied alpha).
        pixels = readUnpremultiplied(bitmap, width, height) || pixels;
      }
    } else {
      const pre = PRE_SHRINK_SIDE / Math.max(width, height);
      const w = Math.max(outW, Math.round(width * pre));
      const h = Math.max(outH, Math.round(height * pre));
      const small = await decode(blob, { resizeWidth: w, resizeHeight: h,
                                         resizeQuality: "high" });
      try {
        pixels = readPixels(small, w, h);
      } finally {
        small.close();
      }
    }
  } finally {
    bitmap.close();
  }
  return resizeBilinear(flattenOnWhite(pixels), outW, outH);
}

// The server lays transparent images over white before hashing (tryst.media.images), so
// a picture hidden in the alpha channel is hashed as it looks. Pillow's paste with a
// mask blends like this (its PREBLEND rounding).
function flattenOnWhite(image) {
  const { data } = image;
  if (!hasTransparency(data)) return image;
  const out = new Uint8ClampedArray(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3];
    for (let c = 0; c < 3; c++) {
      const tmp = 255 * (255 - a) + data[i + c] * a + 128;
      out[i + c] = ((tmp >> 8) + tmp) >> 8;
    }
    out[i + 3] = 255;
  }
  return { width: image.width, height: image.height, data: out };
}

/** The size the server shrinks a width x height image to (tryst.media.pdq._rgb_array). */
export function targetSize(width, height) {
  const longest = Math.max(width, height);
  if (longest <= MAX_SIDE) return [width, height];
  const scale = MAX_SIDE / longest;
  return [Math.max(1, pyRound(width * scale)), Math.max(1, pyRound(height * scale))];
}

function pyRound(x) { // Python's round(): halves go to the even neighbour
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

async function decode(blob, extra = {}) {
  // Upright like Pillow's exif_transpose; no ICC conversion, since Pillow applies none.
  const options = { imageOrientation: "from-image", colorSpaceConversion: "none",
                    premultiplyAlpha: "none", ...extra };
  try {
    return await createImageBitmap(blob, options);
  } catch (err) {
    // An older browser may not know one of the option values (a TypeError); its
    // defaults are close (current browsers apply EXIF orientation by default).
    if (!(err instanceof TypeError)) throw err;
    return createImageBitmap(blob, extra);
  }
}

function readPixels(bitmap, width, height) {
  const canvas = typeof OffscreenCanvas !== "undefined"
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement("canvas"), { width, height });
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

// The bitmap's straight (not premultiplied) RGBA through a WebGL texture, or null when
// WebGL is unavailable. Only used for small images (at most MAX_SIDE on a side).
function readUnpremultiplied(bitmap, width, height) {
  try {
    const canvas = typeof OffscreenCanvas !== "undefined"
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width, height });
    const gl = canvas.getContext("webgl", { premultipliedAlpha: false });
    if (!gl) return null;
    try {
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
      gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
      const framebuffer = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D,
                              texture, 0);
      if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) {
        return null;
      }
      // Texture row 0 is the image's top row, and readPixels starts at row 0.
      const data = new Uint8ClampedArray(width * height * 4);
      gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, data);
      return gl.getError() === gl.NO_ERROR ? { width, height, data } : null;
    } finally {
      const lose = gl.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
    }
  } catch {
    return null;
  }
}

// Pillow's resize(size, Image.Resampling.BILINEAR) on 8-bit RGB: a separable convolution
// with a triangle filter widened by the scale (so it averages, not samples), integer
// coefficients with 22 fractional bits, each pass rounded to 8 bits
// (libImaging/Resample.c: precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal_8bpc / Vertical_8bpc, ImagingResampleInner). The pass order
// matters to the last bit; it is Pillow 13's: vertical first when the height shrinks by
// more than twice as many pixels as the width (images over 2:1 tall), else horizontal
// first. (Older Pillow always went horizontal first: at most one unit of difference in
// a few pixels of very tall images, a bit or two of the hash at most.)
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1.0);
  const support = 1.0 * filterscale; // BILINEAR's support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  const invFilterscale = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      let t = (x + xmin - center + 0.5) * invFilterscale;
      if (t < 0) t = -t;
      const w = t < 1.0 ? 1.0 - t : 0.0;
      weights[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0.0 ? weights[x] / ww : weights[x];
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(ss) {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// Rows [offset, offset + rows) of src (srcW wide, RGBA) resampled to outW wide; the
// first `channels` channels (3: alpha is set opaque; 4: alpha is resampled too).
function horizontalPass(src, srcW, offset, rows, outW, co, channels) {
  const out = new Uint8ClampedArray(outW * rows * 4);
  for (let yy = 0; yy < rows; yy++) {
    const inRow = (yy + offset) * srcW * 4;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = co.bounds[xx * 2];
      const xmax = co.bounds[xx * 2 + 1];
      const k = xx * co.ksize;
      let s0 = HALF, s1 = HALF, s2 = HALF, s3 = HALF;
      for (let x = 0; x < xmax; x++) {
        const p = inRow + (x + xmin) * 4;
        const c = co.kk[k + x];
        s0 += src[p] * c;
        s1 += src[p + 1] * c;
        s2 += src[p + 2] * c;
        s3 += src[p + 3] * c;
      }
      const o = (yy * outW + xx) * 4;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
      out[o + 3] = channels === 4 ? clip8(s3) : 255;
    }
  }
  return out;
}

// src (w wide, RGBA) resampled to outH rows; source row indices are shifted by -offset.
function verticalPass(src, w, outH, co, offset, channels) {
  const out = new Uint8ClampedArray(w * outH * 4);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = co.bounds[yy * 2] - offset;
    const ymax = co.bounds[yy * 2 + 1];
    const k = yy * co.ksize;
    for (let xx = 0; xx < w; xx++) {
      let s0 = HALF, s1 = HALF, s2 = HALF, s3 = HALF;
      for (let y = 0; y < ymax; y++) {
        const p = ((y + ymin) * w + xx) * 4;
        const c = co.kk[k + y];
        s0 += src[p] * c;
        s1 += src[p + 1] * c;
        s2 += src[p + 2] * c;
        s3 += src[p + 3] * c;
      }
      const o = (yy * w + xx) * 4;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
      out[o + 3] = channels === 4 ? clip8(s3) : 255;
    }
  }
  return out;
}

// Pillow resizes RGBA premultiplied: RGBA -> RGBa (MULDIV255), resize all four channels,
// RGBa -> RGBA (Convert.c rgbA2rgba, rgba2rgbA). Opaque pixels are unchanged by both.
function premultiply(src) {
  const out = new Uint8ClampedArray(src.length);
  for (let p = 0; p < src.length; p += 4) {
    const a = src[p + 3];
    for (let c = 0; c < 3; c++) {
      const t = src[p + c] * a + 128;
      out[p + c] = ((t >> 8) + t) >> 8;
    }
    out[p + 3] = a;
  }
  return out;
}

function unpremultiply(data) {
  for (let p = 0; p < data.length; p += 4) {
    const a = data[p + 3];
    if (a !== 0 && a !== 255) {
      for (let c = 0; c < 3; c++) data[p + c] = Math.trunc((255 * data[p + c]) / a);
    }
  }
  return data; // Uint8ClampedArray: values over 255 clip, as CLIP8 does
}

function hasTransparency(data) {
  for (let p = 3; p < data.length; p += 4) {
    if (data[p] !== 255) return true;
  }
  return false;
}

/** Pillow's BILINEAR resize of RGBA pixels to outW x outH. Pixels with any
 *  transparency are resized premultiplied, as Pillow does for mode RGBA; opaque ones
 *  as RGB. Returns the input unchanged when the size is the same. */
export function resizeBilinear(image, outW, outH) {
  const { width: inW, height: inH, data: src } = image;
  if (outW === inW && outH === inH) return image;
  const channels = hasTransparency(src) ? 4 : 3;
  const needHorizontal = outW !== inW;
  const needVertical = outH !== inH;
  const horizontalFirst = !(inH - outH > 0 && inH - outH > (inW - outW) * 2);
  const vert = needVertical ? coefficients(inH, outH) : null;
  const horiz = needHorizontal ? coefficients(inW, outW) : null;
  let data = channels === 4 ? premultiply(src) : src;
  if (horizontalFirst) {
    let offset = 0;
    if (needHorizontal) { // only the source rows the vertical pass will read
      const first = needVertical ? vert.bounds[0] : 0;
      const last = needVertical
        ? vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1] : inH;
      data = horizontalPass(data, inW, first, last - first, outW, horiz, channels);
      offset = first;
    }
    if (needVertical) data = verticalPass(data, outW, outH, vert, offset, channels);
  } else {
    if (needVertical) data = verticalPass(data, inW, outH, vert, 0, channels);
    if (needHorizontal) data = horizontalPass(data, inW, 0, outH, outW, horiz, channels);
  }
  if (channels === 4) unpremultiply(data);
  return { width: outW, height: outH, data };
}

// ---------------------------------------------------------------- PDQ

const MIN_HASHABLE_DIM = 5;
const NUM_JAROSZ_XY_PASSES = 2;

// The 16x64 DCT matrix, row-major: D[i][j] = sqrt(2/64) cos(pi/2/64 (i+1)(2j+1)).
const DCT = (() => {
  const d = new Float32Array(16 * 64);
  const scale = f32(Math.sqrt(2.0 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      d[i * 64 + j] = scale * Math.cos((Math.PI / 2.0 / 64) * (i + 1) * (2 * j + 1));
    }
  }
  return d;
})();

/** The PDQ hash of RGBA pixels ({width, height, data}, e.g. an ImageData), exactly as
 *  pdqhash.compute hashes the same RGB pixels: {hash: 64 hex digits, quality: 0-100}.
 *  Alpha is ignored. Images smaller than 5 px on a side hash to zeros, quality 0. */
export function pdqFromImageData(image) {
  const { width, height, data } = image;
  if (height < MIN_HASHABLE_DIM || width < MIN_HASHABLE_DIM) {
    return { hash: "0".repeat(64), quality: 0 };
  }
  const n = width * height;
  // Luma as pdqhash's binding computes it: in doubles (numpy), then stored as float32.
  const buffer1 = new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    buffer1[i] = data[p] * 0.299 + data[p + 1] * 0.587 + data[p + 2] * 0.114;
  }
  const buffer2 = new Float32Array(n);
  jaroszFilter(buffer1, buffer2, height, width,
               jaroszWindowSize(width, 64), jaroszWindowSize(height, 64),
               NUM_JAROSZ_XY_PASSES);
  const block = decimate(buffer1, height, width, 64, 64);
  const quality = qualityMetric(block);
  const dct = dct64To16(block);
  return { hash: bitsToHex(dct), quality };
}

/** computeJaroszFilterWindowSize: half of the input pixels per output pixel, rounded up
 *  (two passes then cover the whole block). */
export function jaroszWindowSize(oldDimension, newDimension) {
  return Math.trunc((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
}

function jaroszFilter(buffer1, buffer2, numRows, numCols, windowAlongRows,
                      windowAlongCols, nreps) {
  for (let i = 0; i < nreps; i++) {
    for (let r = 0; r < numRows; r++) { // boxAlongRowsFloat: buffer1 -> buffer2
      box1D(buffer1, buffer2, r * numCols, numCols, 1, windowAlongRows);
    }
    for (let c = 0; c < numCols; c++) { // boxAlongColsFloat: buffer2 -> buffer1
      box1D(buffer2, buffer1, c, numRows, numCols, windowAlongCols);
    }
  }
}

// box1DFloat: a moving average whose window shrinks at the ends; float32 running sum.
function box1D(invec, outvec, start, length, stride, fullWindow) {
  const halfWindow = Math.trunc((fullWindow + 2) / 2); // 7 -> 4, 8 -> 5
  const phase1 = halfWindow - 1;
  const phase2 = fullWindow - halfWindow + 1;
  const phase3 = length - fullWindow;
  const phase4 = halfWindow - 1;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let size = 0;
  for (let i = 0; i < phase1; i++) {
    sum = f32(sum + invec[ri]);
    size++;
    ri += stride;
  }
  for (let i = 0; i < phase2; i++) {
    sum = f32(sum + invec[ri]);
    size++;
    outvec[oi] = sum / size;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase3; i++) {
    sum = f32(sum + invec[ri]);
    sum = f32(sum - invec[li]);
    outvec[oi] = sum / size;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase4; i++) {
    sum = f32(sum - invec[li]);
    size--;
    outvec[oi] = sum / size;
    li += stride;
    oi += stride;
  }
}

// decimateFloat: sample the centres of a 64x64 grid.
function decimate(input, inRows, inCols, outRows, outCols) {
  const out = new Float32Array(outRows * outCols);
  for (let i = 0; i < outRows; i++) {
    const ini = Math.trunc(((i + 0.5) * inRows) / outRows);
    for (let j = 0; j < outCols; j++) {
      const inj = Math.trunc(((j + 0.5) * inCols) / outCols);
      out[i * outCols + j] = input[ini * inCols + inj];
    }
  }
  return out;
}

// pdqImageDomainQualityMetric: how many significant gradients the 64x64 image has.
function qualityMetric(b) {
  let gradientSum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = Math.trunc(f32(f32(f32(b[i * 64 + j] - b[(i + 1) * 64 + j]) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = Math.trunc(f32(f32(f32(b[i * 64 + j] - b[i * 64 + j + 1]) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  return Math.min(100, Math.trunc(gradientSum / 90));
}

// dct64To16: B = D A D^t, keeping only the 16x16 lowest non-DC frequencies.
function dct64To16(a) {
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) {
        sum = f32(sum + f32(DCT[i * 64 + k] * a[k * 64 + j]));
      }
      t[i * 64 + j] = sum;
    }
  }
  const b = new Float32Array(16 * 16);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) {
        sum = f32(sum + f32(t[i * 64 + k] * DCT[j * 64 + k]));
      }
      b[i * 16 + j] = sum;
    }
  }
  return b;
}

// Torben Mogensen's median (torben.cpp): for 256 values, the 128th smallest.
function torben(m) {
  const n = m.length;
  const half = Math.trunc((n + 1) / 2);
  let min = m[0];
  let max = m[0];
  for (let i = 1; i < n; i++) {
    if (m[i] < min) min = m[i];
    if (m[i] > max) max = m[i];
  }
  let less, greater, equal, guess, maxltguess, mingtguess;
  for (;;) {
    guess = f32((min + max) / 2);
    less = 0;
    greater = 0;
    equal = 0;
    maxltguess = min;
    mingtguess = max;
    for (let i = 0; i < n; i++) {
      if (m[i] < guess) {
        less++;
        if (m[i] > maxltguess) maxltguess = m[i];
      } else if (m[i] > guess) {
        greater++;
        if (m[i] < mingtguess) mingtguess = m[i];
      } else {
        equal++;
      }
    }
    if (less <= half && greater <= half) break;
    if (less > greater) max = maxltguess;
    else min = mingtguess;
  }
  if (less >= half) return maxltguess;
  if (less + equal >= half) return guess;
  return mingtguess;
}

// pdqBuffer16x16ToBits and Hash256::format: bit i*16+j is set when coefficient (i, j)
// is above the median; word i holds row i; the hex lists word 15 first, 4 digits each.
// That is the 256-bit number big-endian, as ThreatExchange, HMA and the server write it.
function bitsToHex(dct) {
  const median = torben(dct);
  let hex = "";
  for (let i = 15; i >= 0; i--) {
    let word = 0;
    for (let j = 0; j < 16; j++) {
      if (dct[i * 16 + j] > median) word |= 1 << j;
    }
    hex += word.toString(16).padStart(4, "0");
  }
  return hex;
}

/** Hamming distance between two 64-hex-digit hashes. */
export function hammingDistance(a, b) {
  let bits = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      bits++;
    }
  }
  return bits;
}

// ---------------------------------------------------------------- SHA-256 without Web Crypto

function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
  0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
  0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
  0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
  0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256 (FIPS 180-4) in plain JavaScript, for pages served without HTTPS, where
 *  crypto.subtle does not exist. Returns 64 hex digits. */
export function sha256Js(input) {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input)
    : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const bitLength = bytes.length * 8;
  const padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g))
        + K[i] + w[i];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
  return toHex(out);
}
