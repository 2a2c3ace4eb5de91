"""The quality benchmark (`omnisync bench`).

metrics   pure picture metrics (PSNR, SSIM, mouth crops, outside-region change, flicker)
scores    what is measured per dubbed clip, the report's columns, the success rule
variants  the named ways to dub that are compared (no-op, tau=1, static CFG, DS-CFG)
runner    run_benchmark(): dub every benchmark clip with every variant, score, aggregate
report    report.md, the mouth-PSNR bar chart and the mouth-crop strip
export    export_weights(): a training checkpoint's EMA weights as a weights directory
"""
