# `cmt train` on the emulated device against the CPU backend (tests/emu/train_matches_cpu.py), and the
# PyTorch op oracles (tests/oracle) with the ops run on the emulated device. /usr/bin/python3 is
# Debian's, with h5py, numpy and python3-torch; without torch only the oracles are left out.
find_program(CMT_EMU_E2E_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT CMT_EMU_E2E_PYTHON)
  message(STATUS "emu e2e tests: no /usr/bin/python3, not registered")
  return()
endif()

# The smallest 3D models (width 0.125, depth 0.25, latent 8, batch 2) at 8^3, one step per epoch,
# each device step checked from the device's own checkpoint (the tiny nets are chaotic). Between them
# every step path: eager; CUDA Graph (step 2 records the memory plan, 3 replays it, 4 captures the
# graph, 5 replays it); fp32 (tight), tf32 (against the CPU's fp32; tau 1: at 0.1 tf32 moves L_cst
# by 6-36%) and bf16 (against the CPU's bf16). About 35 CPU-seconds each on the emulator (the load check 15).
# vgg19 needs 32^3 (five 2x pools): one eager fp32 step, about 50 CPU-seconds with the whole check.
set(cmt_emu_train ${CMT_EMU_E2E_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/train_matches_cpu.py --cmt $<TARGET_FILE:cmt>)
add_test(NAME emu.train_vgg19 COMMAND ${cmt_emu_train} --backbone vgg19 --size 32 --precision fp32 --no-graph --steps 1)
add_test(NAME emu.train_resnet50 COMMAND ${cmt_emu_train} --backbone resnet50 --precision fp32 --no-graph --steps 3)
add_test(NAME emu.train_resnet50_tf32 COMMAND ${cmt_emu_train} --backbone resnet50 --precision tf32 --tau 1 --graph --steps 2)
add_test(NAME emu.train_efficientnet_b4 COMMAND ${cmt_emu_train} --backbone efficientnet_b4 --precision fp32 --graph --steps 5)
add_test(NAME emu.train_efficientnet_b4_bf16 COMMAND ${cmt_emu_train} --backbone efficientnet_b4 --precision bf16 --graph --steps 5)
# The device's checkpoints loaded on the device: `cmt predict --device cuda`, `cmt eval`, `cmt train
# --resume` must reproduce what the device computed before saving them.
add_test(NAME emu.train_efficientnet_b4_load
         COMMAND ${cmt_emu_train} --backbone efficientnet_b4 --precision fp32 --no-graph --steps 2 --load-checks)
set_tests_properties(emu.train_vgg19 emu.train_resnet50 emu.train_resnet50_tf32 emu.train_efficientnet_b4 emu.train_efficientnet_b4_bf16
                     emu.train_efficientnet_b4_load PROPERTIES LABELS emu ENVIRONMENT "${cmt_emu_env}" TIMEOUT 900)

execute_process(COMMAND ${CMT_EMU_E2E_PYTHON} -c "import torch" RESULT_VARIABLE cmt_emu_no_torch OUTPUT_QUIET ERROR_QUIET)
if(cmt_emu_no_torch)
  message(STATUS "emu oracle tests: no torch for ${CMT_EMU_E2E_PYTHON}, not registered")
  return()
endif()
# The op-level oracles of the heavy op families (the others are covered by tests/cuda against the
# CPU, which the CPU oracles check against PyTorch). Left out: test_cmt_step (whole
# steps of all backbones: 3D vgg19 at 32^3 alone runs past 10 minutes), the end-to-end, bench, metrics
# and data-preparation scripts (CPU paths, or PyTorch on a GPU).
foreach(name attention_decoder batchnorm conv linear ntxent pool)
  add_test(NAME emu.oracle_${name}
           COMMAND ${CMT_EMU_E2E_PYTHON} ${CMAKE_SOURCE_DIR}/tests/oracle/test_${name}.py --runner $<TARGET_FILE:cmt_op_runner>
                   --cmt $<TARGET_FILE:cmt> --device cuda)
  set_tests_properties(emu.oracle_${name} PROPERTIES LABELS emu ENVIRONMENT "${cmt_emu_env};PYTHONDONTWRITEBYTECODE=1"
                       TIMEOUT 300)
endforeach()
